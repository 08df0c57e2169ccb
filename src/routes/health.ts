/** `GET /healthz`: the Worker is up. Reads no binding, so it answers even when tenants are misconfigured. */
export function handleHealth(): Response {
  return Response.json({ status: "ok" }, { headers: { "Cache-Control": "no-store" } });
}
