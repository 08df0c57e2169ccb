/**
 * End to end in a real browser: headless Chromium opens the Worker's dev demo page (served by the
 * real `wrangler dev`), signs in through the dev login, creates a VerificationSession with plain
 * `fetch` on the page's own origin, follows the session `url` to the Stripe stub's hosted page, picks
 * an outcome there and comes back to the tenant's `return_url` to read the result. Also: a
 * `return_url` outside the tenant's allow-list is refused on the page, and another user cannot read
 * the session. Screenshots go to test-artifacts/ (UPDATE_DOCS_SCREENSHOT=1 also refreshes
 * docs/img/demo.png). Needs Debian's /usr/bin/chromium (`apt-get install chromium`; CI installs it).
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CACHE_KEY, DEMO_JWT_SECRET, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET } from "../../dev/demo-tenant.ts";
import { type DevStack, startDevStack } from "../../dev/stack.ts";
import { assertNoSecretsIn } from "../helpers/log-capture.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];
const SESSIONS_PATH = "/v1/identity/verification_sessions";
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ARTIFACTS = join(root, "test-artifacts");
const DOCS_SCREENSHOT = join(root, "docs", "img", "demo.png");

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`browser-flow: SKIPPED, ${CHROMIUM} is missing. Install it with \`apt-get install -y chromium\` (CI does).`);
}

let stack: DevStack;
let browser: Browser;
/** Secrets the flow handed out (tokens, client secrets, session urls): none may reach wrangler's output. */
const learned: string[] = [];
/** Content-Security-Policy violations the demo page reported in its console. */
const cspViolations: string[] = [];

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 760, height: 600 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  // The page only ever talks to the proxy's and the stub's loopback origins.
  await context.route(/^(?!http:\/\/(127\.0\.0\.1|localhost):)/, (route) => route.abort());
  return { context, page };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `browser-flow-${name}.png`), fullPage: true });
}

/** Signs in through the demo page; returns the token the dev login minted. */
async function signIn(page: Page, user: string): Promise<string> {
  await page.goto(`${stack.proxyUrl}/demo/`);
  await page.fill("#user", user);
  const [login] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/demo/login")), page.click("#signin")]);
  expect(login.status()).toBe(200);
  const { token } = (await login.json()) as { token: string };
  learned.push(token);
  await expect.poll(() => page.textContent("#user-name")).toBe(user);
  return token;
}

interface CreatedSession {
  id: string;
  url: string;
}

/** Starts a verification from the page and lands on the stub's hosted page (the session's `url`). */
async function startVerification(page: Page): Promise<CreatedSession> {
  const [create] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(SESSIONS_PATH) && r.request().method() === "POST"),
    page.click("#start"),
  ]);
  expect(create.status()).toBe(200);
  // The page leaves at once, so the response body is gone: the url is where it went, the rest is the stub's.
  await page.waitForURL(`${stack.stub.url}/verify/vs_*`);
  const url = page.url();
  const id = new URL(url).pathname.split("/").at(-1) ?? "";
  const stored = stack.stub.app.sessions().find((s) => s.id === id);
  expect(stored?.url).toBe(url);
  learned.push(url);
  if (typeof stored?.client_secret === "string") learned.push(stored.client_secret);
  return { id, url };
}

async function statusShown(page: Page): Promise<string | null> {
  return page.getAttribute("#status", "data-status");
}

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  stack = await startDevStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (!stack) return;
  // Whatever the Worker (and wrangler) printed holds none of the secrets of this run.
  // DEMO_PROXY_KEY is left out: this flow never sends it, and its run of zeros matches wrangler's
  // placeholder KV namespace ids under the helper's tail probe (stripe-node.test.ts covers it).
  assertNoSecretsIn(stack.output(), [DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET, DEMO_JWT_SECRET, DEMO_CACHE_KEY, ...learned]);
});

describe.skipIf(!hasChromium)("the same-origin browser flow in Chromium (demo page → proxy → hosted page → back)", () => {
  it("signs in, creates a session, verifies on the hosted page and shows `verified` on return", async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, "alice");
      await screenshot(page, "1-signed-in");
      const session = await startVerification(page);
      expect(session.id).toMatch(/^vs_/);
      await screenshot(page, "2-hosted-page");

      await page.click('[data-outcome="verified"]');
      await page.waitForURL(`${stack.proxyUrl}/demo/`);
      await expect.poll(() => statusShown(page)).toBe("verified");
      expect(await page.textContent("#session-id")).toBe(session.id);
      expect(await page.textContent("#last-error")).toBe("none");
      await screenshot(page, "3-verified");
      if (process.env.UPDATE_DOCS_SCREENSHOT === "1") {
        mkdirSync(dirname(DOCS_SCREENSHOT), { recursive: true });
        await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
      }

      // The proxy bound the session to the signed-in user, applied the tenant's policy, and accepted
      // the stub's signed webhooks for the outcome.
      const forwarded = stack.stub.app.requests.filter((r) => r.method === "POST" && r.path === SESSIONS_PATH).at(-1);
      expect(forwarded?.params).toMatchObject({
        type: "document",
        client_reference_id: "alice",
        return_url: `${stack.proxyUrl}/demo/`,
        options: { document: { require_live_capture: "true" } },
      });
      expect(stack.stub.app.sessions().find((s) => s.id === session.id)).toMatchObject({ status: "verified" });
      await stack.stub.app.flushWebhooks();
      const deliveries = stack.stub.app.webhookDeliveries.filter((d) => d.type.startsWith("identity.verification_session."));
      expect(deliveries.map((d) => d.type)).toEqual(
        expect.arrayContaining(["identity.verification_session.processing", "identity.verification_session.verified"]),
      );
      expect(deliveries.every((d) => d.status === 200)).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("shows `requires_input` with the error code picked on the hosted page, and offers to continue", async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, "bob");
      await startVerification(page);
      await page.selectOption("#error-code", "document_expired");
      await page.click('[data-outcome="requires_input"]');
      await page.waitForURL(`${stack.proxyUrl}/demo/`);
      await expect.poll(() => statusShown(page)).toBe("requires_input");
      expect(await page.textContent("#last-error")).toBe("document_expired");
      // A new attempt: its url leads back to the hosted page.
      expect(await page.isVisible("#continue")).toBe(true);
      await page.click("#continue");
      await page.waitForURL(`${stack.stub.url}/verify/**`);
      await page.click('[data-outcome="canceled"]');
      await page.waitForURL(`${stack.proxyUrl}/demo/`);
      await expect.poll(() => statusShown(page)).toBe("canceled");
      await screenshot(page, "4-canceled");
    } finally {
      await context.close();
    }
  });

  it("refuses a return_url outside the tenant's allow-list and shows the policy error on the page", async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, "carol");
      const creates = stack.stub.app.countCreates();
      await page.fill("#return-url", "https://evil.example/phish");
      const [create] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(SESSIONS_PATH) && r.request().method() === "POST"),
        page.click("#start"),
      ]);
      expect(create.status()).toBe(400);
      await page.waitForSelector("#error:not([hidden])");
      expect(await page.textContent("#error-code")).toBe("policy_violation");
      expect(await page.textContent("#error-message")).toMatch(/return_url/);
      expect(await page.textContent("#error-param")).toBe("param: return_url");
      expect(page.url()).toBe(`${stack.proxyUrl}/demo/`);
      expect(await page.isVisible("#session")).toBe(false);
      expect(stack.stub.app.countCreates()).toBe(creates);
      await screenshot(page, "5-refused-return-url");
    } finally {
      await context.close();
    }
  });

  it("does not show one user's session to another user", async () => {
    const owner = await newPage();
    let sessionId: string;
    try {
      await signIn(owner.page, "dave");
      sessionId = (await startVerification(owner.page)).id;
    } finally {
      await owner.context.close();
    }
    const { context, page } = await newPage();
    try {
      await signIn(page, "mallory");
      await page.goto(`${stack.proxyUrl}/demo/?session=${sessionId}`);
      await page.waitForSelector("#error:not([hidden])");
      expect(await page.textContent("#error-code")).toBe("resource_missing");
      expect(await statusShown(page)).toBe("unknown");
    } finally {
      await context.close();
    }
  });

  it("loads without a 404 (favicon included), keeps Sign in on one line, and says why Start is disabled", async () => {
    const { context, page } = await newPage();
    const failed: string[] = [];
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    try {
      const [icon] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/favicon.svg"), { timeout: 10_000 }),
        page.goto(`${stack.proxyUrl}/demo/`, { waitUntil: "load" }),
      ]);
      expect(icon.status()).toBe(200);
      expect(failed).toEqual([]);
      // The button's text on one line: its height is under two line heights (the DOM is not in this
      // project's TypeScript lib, so the probe is a string).
      const signin = await page.evaluate<{ height: number; line: number }>(
        `(() => { const b = document.getElementById("signin"); return { height: b.getBoundingClientRect().height, line: parseFloat(getComputedStyle(b).lineHeight) || 20 }; })()`,
      );
      expect(signin.height).toBeLessThan(signin.line * 2);
      expect(await page.isDisabled("#start")).toBe(true);
      expect(await page.isVisible("#start-hint")).toBe(true);
      expect(await page.textContent("#start-hint")).toContain("Sign in first");
      await signIn(page, "dora");
      expect(await page.isDisabled("#start")).toBe(false);
      expect(await page.isVisible("#start-hint")).toBe(false);
    } finally {
      await context.close();
    }
  });

  it("serves the page with a strict CSP that the page itself never violates", async () => {
    const res = await fetch(`${stack.proxyUrl}/demo/`);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(cspViolations).toEqual([]);
  });

  it("mints tokens only for a same-origin page", async () => {
    const login = (headers: Record<string, string>) =>
      fetch(`${stack.proxyUrl}/demo/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: '{"user":"eve"}',
      });
    expect((await login({ Origin: "https://evil.example" })).status).toBe(403);
    expect((await login({ "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect((await login({})).status).toBe(403);
  });
});
