// Vexil results and OpenFeature resolutions: the same names, so mapping is direct.

/** OpenFeature resolution details for Vexil evaluation details. */
export function toResolution(d) {
  const out = { value: d.value, reason: d.reason, flagMetadata: { ...(d.flagMetadata ?? {}) } };
  if (d.variant !== undefined) out.variant = d.variant;
  if (d.ruleId !== undefined) out.flagMetadata.ruleId = d.ruleId;
  if (d.errorCode) {
    out.errorCode = d.errorCode;
    out.errorMessage = d.errorMessage;
  }
  return out;
}

/** Vexil `track()` data from OpenFeature tracking details. */
export function toTrackData(details = {}) {
  const data = {};
  if (typeof details.value === "number" && Number.isFinite(details.value)) data.value = details.value;
  if (typeof details.success === "boolean") data.success = details.success;
  if (typeof details.latencyMs === "number") data.latencyMs = details.latencyMs;
  if (Array.isArray(details.flags)) data.flags = details.flags;
  return data;
}
