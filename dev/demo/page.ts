/**
 * The demo page's markup and styles: static text, no templating, so nothing a request carries can
 * reach the HTML. Element ids are stable: the browser end-to-end test drives them.
 */

export const DEMO_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>identity-edge demo</title>
<link rel="icon" href="/demo/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/demo/demo.css">
<script src="/demo/app.js" defer></script>
</head>
<body>
<main>
<h1>identity-edge demo</h1>
<p class="hint">A tenant's page calling the proxy on its own origin with plain <code>fetch</code>: sign in, start a
VerificationSession, verify on the stub's hosted page, come back and read the result.</p>

<section aria-labelledby="signin-title">
<h2 id="signin-title">1. Sign in</h2>
<form id="signin-form">
<label for="user">User name</label>
<div class="row"><input id="user" name="user" value="alice" required maxlength="64" autocomplete="username">
<button id="signin" type="submit">Sign in</button></div>
<p class="hint">The dev login mints a 15-minute token for this name: the sessions' owner.</p>
</form>
<p id="signed-in" hidden>Signed in as <strong id="user-name"></strong>
<button id="signout" type="button" class="link">Sign out</button></p>
</section>

<section aria-labelledby="start-title">
<h2 id="start-title">2. Start a verification</h2>
<form id="start-form">
<label for="type">Type</label>
<select id="type" name="type"><option value="document">document</option><option value="id_number">id_number</option></select>
<label for="return-url"><code>return_url</code></label>
<input id="return-url" name="return_url" type="text" spellcheck="false">
<p class="hint">The tenant allows only its <code>/demo/</code> URLs: try another to see the policy refuse it.</p>
<div class="row"><button id="start" type="submit" disabled aria-describedby="start-hint">Start verification</button>
<span id="start-hint" class="hint">Sign in first (step 1).</span></div>
</form>
</section>

<section aria-labelledby="session-title">
<h2 id="session-title">3. Your session</h2>
<p id="no-session">No session yet.</p>
<dl id="session" hidden>
<dt>id</dt><dd><code id="session-id"></code></dd>
<dt>status</dt><dd><span id="status" class="status"></span></dd>
<dt>last_error</dt><dd><code id="last-error">none</code></dd>
</dl>
<div class="row">
<button id="continue" type="button" hidden>Continue verification</button>
<button id="refresh" type="button" hidden>Refresh</button>
<button id="reset" type="button" class="link" hidden>Start over</button>
</div>
</section>

<div id="error" role="alert" hidden><strong id="error-code"></strong> <span id="error-message"></span>
<code id="error-param"></code></div>
<p id="notice" role="status" hidden></p>
</main>
</body>
</html>
`;

export const DEMO_CSS = `[hidden]{display:none!important}
body{font:16px system-ui,sans-serif;color:#1a1f36;background:#f6f9fc;margin:0}
main{max-width:36rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #e3e8ee;border-radius:8px}
h1{font-size:1.4rem;margin:0}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}.hint,dt,#notice{color:#697386;font-size:.9rem}
code{background:#f3f4f6;padding:0 .25rem;font-size:.9em}label{display:block;margin:.5rem 0 .25rem}
input,select{font-size:1rem;padding:.4rem;border:1px solid #c1c9d2;border-radius:6px;width:100%;box-sizing:border-box}
.row{display:flex;gap:.5rem;align-items:center}.row button{flex:none;white-space:nowrap}
button{font-size:1rem;padding:.45rem .9rem;border-radius:6px;border:0;background:#635bff;color:#fff}
button:disabled{opacity:.5}button.link{background:none;color:#635bff}
dl{display:grid;grid-template-columns:auto 1fr;gap:.35rem 1rem}dd{margin:0}
.status{font-weight:600;padding:.1rem .5rem;border-radius:10px;background:#e3e8ee}
[data-status=verified]{background:#d7f7c2;color:#05690d}[data-status=requires_input]{background:#fcedb9;color:#a82c00}
[data-status=canceled]{background:#ffe7f2;color:#b3063d}
#error{margin-top:1.5rem;padding:.75rem 1rem;border-radius:6px;background:#ffe7f2;color:#b3063d}
`;

/** The page's icon (served, since the page's CSP allows images from 'self' only). */
export const DEMO_FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#635bff"/><path d="M4 8.5l2.5 2.5L12 5.5" stroke="#fff" stroke-width="2" fill="none"/></svg>`;
