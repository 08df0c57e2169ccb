/**
 * The demo page's script, served as `/demo/app.js` (the page's CSP allows scripts from 'self' only).
 * It is what a tenant's frontend does: plain `fetch` to the proxy on its own origin with the end
 * user's token, then a redirect to the session's `url`. The session id waits in sessionStorage while
 * the user is on the hosted page, because the tenant's `return_urls` fix where Stripe sends them
 * back. Nothing here is templated from a request; every value shown goes through `textContent`.
 * Plain ES2020 without template literals, so it can live in this TypeScript string as written.
 */
export const DEMO_SCRIPT = `"use strict";
(function () {
  var API = "/v1/identity/verification_sessions";
  var KEY = { token: "ie-demo.token", user: "ie-demo.user", expires: "ie-demo.expires", session: "ie-demo.session" };
  var SESSION_ID = /^vs_[A-Za-z0-9]{1,64}$/;
  var store = window.sessionStorage;
  var polls = 0;

  function $(id) { return document.getElementById(id); }

  /** Only http(s) pages are followed: a session url is Stripe's hosted page, never a script. */
  function pageUrl(value) {
    try {
      var url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function currentUser() {
    var token = store.getItem(KEY.token);
    var expires = Number(store.getItem(KEY.expires));
    if (!token || !(expires * 1000 > Date.now())) return null;
    return { token: token, name: store.getItem(KEY.user) || "" };
  }

  function notice(text) {
    $("notice").textContent = text || "";
    $("notice").hidden = !text;
  }

  function showError(error) {
    $("error").hidden = !error;
    if (!error) return;
    $("error-code").textContent = error.code || error.type || "error";
    $("error-message").textContent = error.message || "Something went wrong.";
    $("error-param").textContent = error.param ? "param: " + error.param : "";
  }

  /** One call to the proxy (or the dev login): { ok, status, data } or { ok: false, status, error }. */
  async function send(method, path, body, token) {
    var headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    var res;
    try {
      res = await fetch(path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (e) {
      return { ok: false, status: 0, error: { code: "network_error", message: "The proxy could not be reached." } };
    }
    var json = await res.json().catch(function () { return null; });
    if (res.ok && json) return { ok: true, status: res.status, data: json };
    return { ok: false, status: res.status, error: (json && json.error) || { message: "HTTP " + res.status } };
  }

  function renderUser() {
    var user = currentUser();
    $("signin-form").hidden = !!user;
    $("signed-in").hidden = !user;
    $("user-name").textContent = user ? user.name : "";
    $("start").disabled = !user;
    return user;
  }

  function renderSession(session) {
    var id = store.getItem(KEY.session);
    $("no-session").hidden = !!id;
    $("session").hidden = !id;
    $("refresh").hidden = !id;
    $("reset").hidden = !id;
    var next = session && session.status === "requires_input" ? pageUrl(session.url) : null;
    $("continue").hidden = !next;
    $("session-id").textContent = id || "";
    var status = session ? session.status : "unknown";
    $("status").textContent = status;
    $("status").setAttribute("data-status", status);
    $("last-error").textContent = session && session.last_error ? session.last_error.code || "error" : "none";
    $("continue").onclick = next ? function () { location.assign(next); } : null;
  }

  async function loadSession() {
    var id = store.getItem(KEY.session);
    var user = renderUser();
    renderSession(null);
    if (!id) return;
    if (!user) {
      notice("Sign in (as the same user) to see this session.");
      return;
    }
    var result = await send("GET", API + "/" + encodeURIComponent(id), undefined, user.token);
    if (!result.ok) {
      showError(result.error);
      return;
    }
    renderSession(result.data);
    // Real Stripe answers "processing" for a while after the hosted page: poll briefly.
    if (result.data.status === "processing" && polls++ < 30) setTimeout(loadSession, 2000);
  }

  async function signIn(event) {
    event.preventDefault();
    showError(null);
    var result = await send("POST", "/demo/login", { user: $("user").value.trim() });
    if (!result.ok) {
      showError(result.error);
      return;
    }
    store.setItem(KEY.token, result.data.token);
    store.setItem(KEY.user, result.data.subject);
    store.setItem(KEY.expires, String(result.data.expires_at));
    notice("");
    await loadSession();
  }

  function signOut() {
    store.removeItem(KEY.token);
    store.removeItem(KEY.user);
    store.removeItem(KEY.expires);
    store.removeItem(KEY.session);
    showError(null);
    notice("");
    renderUser();
    renderSession(null);
  }

  async function start(event) {
    event.preventDefault();
    showError(null);
    var user = currentUser();
    if (!user) {
      renderUser();
      return;
    }
    var body = { type: $("type").value };
    var returnUrl = $("return-url").value.trim();
    if (returnUrl) body.return_url = returnUrl;
    $("start").disabled = true;
    var result = await send("POST", API, body, user.token);
    var next = result.ok ? pageUrl(result.data.url) : null;
    if (!next) {
      $("start").disabled = false;
      showError(result.ok ? { message: "The session has no url to continue at." } : result.error);
      return;
    }
    store.setItem(KEY.session, result.data.id);
    notice("Created " + result.data.id + ": going to the verification page...");
    location.assign(next);
  }

  function startOver() {
    store.removeItem(KEY.session);
    history.replaceState(null, "", location.pathname);
    showError(null);
    notice("");
    renderSession(null);
  }

  $("return-url").value = location.origin + "/demo/";
  var fromQuery = new URLSearchParams(location.search).get("session");
  if (fromQuery && SESSION_ID.test(fromQuery)) store.setItem(KEY.session, fromQuery);
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("start-form").addEventListener("submit", start);
  $("refresh").addEventListener("click", function () { showError(null); polls = 0; loadSession(); });
  $("reset").addEventListener("click", startOver);
  loadSession();
})();
`;
