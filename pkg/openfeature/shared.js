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

/**
 * Whether a load failure can never clear with this configuration (OpenFeature's
 * PROVIDER_FATAL): the keyring lacks the snapshot's key, the snapshot is for another
 * environment, or the options themselves are invalid.
 */
export function fatal(error) {
  return ["UNKNOWN_KEY", "WRONG_ENVIRONMENT", "BAD_KEYS", "BAD_OPTIONS"].includes(error?.code);
}
