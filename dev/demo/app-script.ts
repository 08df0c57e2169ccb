/**
 * The demo page's script, served as `/demo/app.js` (the page's CSP allows scripts from 'self' only).
 * It is what a tenant's frontend does: plain `fetch` to the proxy on its own origin with the end
 * user's token, then a redirect to the session's `url`. The session id waits in sessionStorage while
 * the user is on the hosted page, because the tenant's `return_urls` fix where Stripe sends them
 * back. Nothing here is templated from a request; every value shown goes through `textContent`, and
 * only http(s) urls are followed. A `processing` session (real Stripe, after the hosted page) is
 * polled every 2 s for up to a minute.
 *
 * Plain ES2020 without template literals, so it lives in this TypeScript string as written (one
 * string works alike in wrangler's bundle of dev/worker.ts and in the workerd tests, with no loader
 * rule). Only the dev entry serves it; the deployed Worker does not contain it.
 */
export const DEMO_SCRIPT = `"use strict";
(() => {
  const API = "/v1/identity/verification_sessions";
  const store = sessionStorage;
  const $ = (id) => document.getElementById(id);
  let polls = 0;

  const pageUrl = (value) => {
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  };

  const currentUser = () => {
    const token = store.getItem("token");
    if (!token || !(Number(store.getItem("expires")) * 1000 > Date.now())) return null;
    return { token, name: store.getItem("user") || "" };
  };

  const notice = (text) => {
    $("notice").textContent = text || "";
    $("notice").hidden = !text;
  };

  const showError = (error) => {
    $("error").hidden = !error;
    if (!error) return;
    $("error-code").textContent = error.code || error.type || "error";
    $("error-message").textContent = error.message || "Something went wrong.";
    $("error-param").textContent = error.param ? "param: " + error.param : "";
  };

  const send = async (method, path, body, token) => {
    const headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body && JSON.stringify(body), cache: "no-store", credentials: "omit" });
    } catch (e) {
      return { ok: false, error: { code: "network_error", message: "The proxy could not be reached." } };
    }
    const json = await res.json().catch(() => null);
    if (res.ok && json) return { ok: true, data: json };
    return { ok: false, error: (json && json.error) || { message: "HTTP " + res.status } };
  };

  const renderUser = () => {
    const user = currentUser();
    $("signin-form").hidden = !!user;
    $("signed-in").hidden = !user;
    $("user-name").textContent = user ? user.name : "";
    $("start").disabled = !user;
    $("start-hint").hidden = !!user;
    return user;
  };

  const renderSession = (session) => {
    const id = store.getItem("session");
    for (const el of ["session", "refresh", "reset"]) $(el).hidden = !id;
    $("no-session").hidden = !!id;
    $("session-id").textContent = id || "";
    const status = session ? session.status : "unknown";
    $("status").textContent = status;
    $("status").setAttribute("data-status", status);
    $("last-error").textContent = session && session.last_error ? session.last_error.code || "error" : "none";
    const next = session && session.status === "requires_input" ? pageUrl(session.url) : null;
    $("continue").hidden = !next;
    $("continue").onclick = next && (() => location.assign(next));
  };

  const loadSession = async () => {
    const id = store.getItem("session");
    const user = renderUser();
    renderSession(null);
    if (!id) return;
    if (!user) return notice("Sign in (as the same user) to see this session.");
    const result = await send("GET", API + "/" + encodeURIComponent(id), undefined, user.token);
    if (!result.ok) return showError(result.error);
    renderSession(result.data);
    if (result.data.status === "processing" && polls++ < 30) setTimeout(loadSession, 2000);
  };

  const signIn = async (event) => {
    event.preventDefault();
    showError(null);
    const result = await send("POST", "/demo/login", { user: $("user").value.trim() });
    if (!result.ok) return showError(result.error);
    store.setItem("token", result.data.token);
    store.setItem("user", result.data.subject);
    store.setItem("expires", String(result.data.expires_at));
    notice("");
    await loadSession();
  };

  const start = async (event) => {
    event.preventDefault();
    showError(null);
    const user = currentUser();
    if (!user) return renderUser();
    const body = { type: $("type").value };
    const returnUrl = $("return-url").value.trim();
    if (returnUrl) body.return_url = returnUrl;
    $("start").disabled = true;
    const result = await send("POST", API, body, user.token);
    const next = result.ok ? pageUrl(result.data.url) : null;
    if (!next) {
      $("start").disabled = false;
      return showError(result.ok ? { message: "The session has no url to continue at." } : result.error);
    }
    store.setItem("session", result.data.id);
    notice("Created " + result.data.id + ": going to the verification page...");
    location.assign(next);
  };

  const startOver = () => {
    store.removeItem("session");
    history.replaceState(null, "", location.pathname);
    showError(null);
    notice("");
    renderSession(null);
  };

  $("return-url").value = location.origin + "/demo/";
  const fromQuery = new URLSearchParams(location.search).get("session");
  if (fromQuery && /^vs_[A-Za-z0-9]{1,64}$/.test(fromQuery)) store.setItem("session", fromQuery);
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => {
    store.clear();
    startOver();
    renderUser();
  });
  $("start-form").addEventListener("submit", start);
  $("refresh").addEventListener("click", () => {
    showError(null);
    polls = 0;
    loadSession();
  });
  $("reset").addEventListener("click", startOver);
  loadSession();
})();
`;
