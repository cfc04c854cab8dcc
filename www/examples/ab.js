// The example page's module: the SDK evaluates locally from the bootstrapped,
// signed snapshot (verified in this page), follows the origin's events, tracks the
// checkout outcome and sends metrics with sendBeacon when the page is hidden.
// Unit ids and private attributes stay in the page: only aggregates leave it.
const config = JSON.parse(document.getElementById("vexil-config").textContent);
const boot = JSON.parse(document.getElementById("vexil-bootstrap").textContent || "null");
const { createClient } = await import(config.pkgUrl ?? "/pkg/index.js");

const user = config.user; // e.g. { targetingKey: "user-42", email: "ada@example.com", country: "DE" }
const client = await createClient({
  environment: config.environment,
  keys: config.keys,
  snapshotUrl: config.snapshotUrl,
  eventsUrl: config.eventsUrl,
  metricsUrl: config.metricsUrl,
  sdkKey: config.sdkKey,
  bootstrap: boot?.envelope ?? boot?.values,
  privateAttributes: ["email"],
  dimensions: ["country"],
  context: user,
  refreshIntervalMs: 60_000,
});

// Keep the page in step with the flag (a kill switch switches it within a second).
client.on("change", ({ key, details }) => {
  if (key === "new-checkout") document.documentElement.dataset.checkout = details.variant ?? "off";
});
client.setContext(user);

document.getElementById("buy").addEventListener("click", () => {
  client.track("checkout", user, { value: 42, success: true, flags: ["new-checkout"] });
  document.getElementById("status").textContent = "Thanks! Your order is placed.";
});
window.vexilClient = client;
