import type { StripeStub } from "./app.ts";
import { jsonResponse, StubError } from "./errors.ts";
import { parseFaults } from "./faults.ts";
import { isLastErrorCode } from "./status.ts";

/**
 * The stub's control API, for tests that reach it over HTTP (e2e, the Node server):
 *   GET  /_stub/requests   recorded API requests          GET /_stub/sessions, /_stub/reports
 *   GET  /_stub/events     events and webhook deliveries  POST /_stub/flush  (waits for deliveries)
 *   GET|POST|DELETE /_stub/faults   list / add ({"faults":[…]}) / clear injected faults
 *   POST /_stub/outcome    {"session","outcome","error_code"?}: what the hosted page does; outcome
 *                          `processing` holds the session there until a later verified/requires_input
 *   POST /_stub/reset      forget everything
 * Answers are JSON; lists are `{"data": [...]}`. It has no authentication: the stub is local only.
 */
export async function handleControl(request: Request, path: string, stub: StripeStub): Promise<Response> {
  const method = request.method.toUpperCase();
  const ok = (body: unknown) => jsonResponse(200, body, { "Cache-Control": "no-store" });
  try {
    switch (`${method} ${path}`) {
      case "GET /_stub/requests":
        return ok({ data: stub.requests });
      case "GET /_stub/sessions":
        return ok({ data: stub.sessions() });
      case "GET /_stub/reports":
        return ok({ data: stub.reports() });
      case "GET /_stub/events":
        return ok({ data: stub.events, deliveries: stub.webhookDeliveries });
      case "POST /_stub/flush":
        await stub.flushWebhooks();
        return ok({ deliveries: stub.webhookDeliveries });
      case "GET /_stub/faults":
        return ok({ data: stub.pendingFaults() });
      case "POST /_stub/faults":
        stub.injectFaults(parseFaults(await readJson(request)));
        return ok({ data: stub.pendingFaults() });
      case "DELETE /_stub/faults":
        stub.clearFaults();
        return ok({ data: [] });
      case "POST /_stub/reset":
        stub.reset();
        return ok({ reset: true });
      case "POST /_stub/outcome": {
        const body = (await readJson(request)) as Record<string, unknown>;
        const { session, outcome, error_code: code } = body;
        if (typeof session !== "string") throw new StubError(400, "session must be a session id");
        if (outcome !== "verified" && outcome !== "requires_input" && outcome !== "canceled" && outcome !== "processing") {
          throw new StubError(400, "outcome must be verified, requires_input, canceled or processing");
        }
        if (code !== undefined && (typeof code !== "string" || !isLastErrorCode(code))) {
          throw new StubError(400, "error_code must be one of last_error's codes");
        }
        return ok({ session: stub.setOutcome(session, outcome, code) });
      }
      default:
        throw new StubError(404, `Unknown stub control endpoint (${method}: ${path}).`);
    }
  } catch (err) {
    if (err instanceof StubError) return jsonResponse(err.status, err.toBody(), { "Cache-Control": "no-store" });
    throw err;
  }
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await request.text()) as unknown;
  } catch {
    throw new StubError(400, "The body must be JSON.");
  }
}
