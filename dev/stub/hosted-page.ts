import { bodyText } from "./request-body.ts";
import { sessionUrl } from "./objects.ts";
import { isLastErrorCode, LAST_ERROR_CODES, type Outcome } from "./status.ts";
import type { StoredSession } from "./store.ts";

/**
 * The stub's stand-in for Stripe's hosted verification page (`session.url`): a small self-contained
 * HTML form where a person picks the outcome. Buttons have stable ids and `data-outcome` attributes
 * for browser tests. The `cs` token of the url is checked like Stripe's single-use link: it only works
 * for the current attempt of a session that waits for input.
 */
export interface HostedPageDeps {
  findSession(id: string): StoredSession | undefined;
  submit(session: StoredSession, outcome: Outcome): void;
  publicBaseUrl: string;
  requestId(): string;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.3rem}code{background:#f3f4f6;padding:0 .25rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}
dt{color:#697386}form{display:flex;flex-direction:column;gap:.75rem;margin-top:1.5rem}
button{padding:.6rem;border-radius:6px;border:1px solid #c1c9d2;background:#fff;font-size:1rem;cursor:pointer}
button#outcome-verified{background:#635bff;color:#fff;border-color:#635bff}fieldset{border:1px solid #e3e8ee;border-radius:6px}
select{padding:.4rem;font-size:1rem;width:100%;margin-bottom:.5rem}`;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(status: number, title: string, body: string, requestId: string): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<p><small>Local Stripe Identity stub: no real verification happens here.</small></p></body></html>`;
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
      "Referrer-Policy": "no-referrer",
      "Request-Id": requestId,
    },
  });
}

function describeChecks(session: StoredSession): string {
  const doc = session.options.document;
  const rows: [string, string][] = [
    ["Session", session.id],
    ["Type", session.type],
  ];
  if (doc?.allowed_types) rows.push(["Allowed documents", doc.allowed_types.join(", ")]);
  for (const flag of ["require_live_capture", "require_matching_selfie", "require_id_number"] as const) {
    if (doc?.[flag] !== undefined) rows.push([flag, String(doc[flag])]);
  }
  if (session.last_error) rows.push(["Last error", session.last_error.code ?? ""]);
  return `<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd><code>${escapeHtml(v)}</code></dd>`).join("")}</dl>`;
}

function verifyForm(session: StoredSession, token: string): string {
  const options = LAST_ERROR_CODES.map(
    (code) => `<option value="${code}"${code === "document_unverified_other" ? " selected" : ""}>${code}</option>`,
  ).join("");
  return `${describeChecks(session)}
<form method="post" action="/verify/${escapeHtml(session.id)}" id="verify-form">
<input type="hidden" name="cs" value="${escapeHtml(token)}">
<button type="submit" name="outcome" value="verified" id="outcome-verified" data-outcome="verified">Verify: documents check out</button>
<fieldset><legend>Fail the attempt</legend>
<label for="error-code">Reason (<code>last_error.code</code>)</label>
<select name="error_code" id="error-code">${options}</select>
<button type="submit" name="outcome" value="requires_input" id="outcome-requires-input" data-outcome="requires_input">Fail: back to requires_input</button>
</fieldset>
<button type="submit" name="outcome" value="canceled" id="outcome-canceled" data-outcome="canceled">Cancel the session</button>
</form>`;
}

function expired(requestId: string): Response {
  return page(
    404,
    "This verification link is invalid or has expired",
    "<p>Ask the site that sent you here for a new link.</p>",
    requestId,
  );
}

/** `GET /verify/{id}?cs=…` and `POST /verify/{id}` (form fields `cs`, `outcome`, `error_code`). */
export async function handleHostedPage(request: Request, id: string, deps: HostedPageDeps): Promise<Response> {
  const requestId = deps.requestId();
  const session = deps.findSession(id);
  if (request.method === "GET") {
    const token = new URL(request.url).searchParams.get("cs");
    if (!session?.attempt || token !== session.attempt.url_token) return expired(requestId);
    return page(200, "Verify your identity", verifyForm(session, token), requestId);
  }
  if (request.method !== "POST") return page(405, "Method not allowed", "", requestId);

  const form = new URLSearchParams(await bodyText(request));
  if (!session?.attempt || form.get("cs") !== session.attempt.url_token) return expired(requestId);
  const choice = form.get("outcome");
  const errorCode = form.get("error_code") ?? "document_unverified_other";
  let outcome: Outcome;
  if (choice === "verified" || choice === "canceled") outcome = { status: choice };
  else if (choice === "requires_input" && isLastErrorCode(errorCode)) outcome = { status: "requires_input", errorCode };
  else return page(400, "Unknown outcome", "<p>Pick one of the buttons on the verification page.</p>", requestId);

  deps.submit(session, outcome);
  if (session.return_url) {
    return new Response(null, {
      status: 303,
      headers: { Location: session.return_url, "Cache-Control": "no-store", "Request-Id": requestId },
    });
  }
  const again = session.status === "requires_input" ? sessionUrl(session, deps.publicBaseUrl) : null;
  const retry = again ? `<p><a id="retry" href="${escapeHtml(again)}">Try again</a></p>` : "";
  return page(
    200,
    "Verification submitted",
    `<p id="result" data-status="${session.status}">The session is now <code>${session.status}</code>.</p>${retry}`,
    requestId,
  );
}
