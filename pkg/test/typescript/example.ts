// Type-checked against the packed package (tarball.test.js): `tsc --noEmit --strict`.
// Uses every name `vexil`, `vexil/inline` and the OpenFeature entries export.
import {
  createClient, ready, isPrivate, Engine, Client, Context, VexilError, REASONS, ERROR_CODES, SDK_NAME,
  type Reason, type ErrorCode, type RejectionCode, type JsonValue, type EvaluationContext, type FlagType,
  type EvaluationDetails, type LoadInfo, type Envelope, type EngineOptions, type TrackData, type ClientOptions,
  type FlagChange, type MetricsBatch, type OfrepAnswer, type Tracer, type TraceStep, type EvaluationTrace,
} from "vexil";
import { traceEvaluation, tracer, formatTrace, describeStep } from "vexil/trace";
import * as inline from "vexil/inline";
import { OpenFeature, type Provider } from "@openfeature/server-sdk";
import { OpenFeature as WebOpenFeature, type Provider as WebProvider } from "@openfeature/web-sdk";
import { VexilProvider } from "vexil/openfeature/server";
import { VexilWebProvider } from "vexil/openfeature/web";

declare const envelope: Envelope;
const engineOptions: EngineOptions = { keys: { k1: "base64" }, environment: "production", stalePolicy: "serve-stale", dimensions: ["country"] };
const options: ClientOptions = { ...engineOptions, snapshotUrl: "https://flags.example.com/snapshot", sdkKey: "vxs_x", bootstrap: envelope, refreshIntervalMs: 15_000 };

await ready();
const engine = new Engine(engineOptions);
const info: LoadInfo = engine.load(envelope);
const version: number = info.version;
const user: EvaluationContext = { targetingKey: "u1", plan: "beta", geo: { country: "DE" } };
const ctx: Context = engine.context(user);
const valid: boolean = ctx.valid;
const on: boolean = engine.boolean("new-checkout", ctx, false);
const banner: string = engine.string("banner", user, "hi");
const limit: number = engine.number("limit", undefined, 1);
const theme = engine.json<{ bg: string }>("theme", user, { bg: "#fff" });
const themeBg: string = theme.bg;
const type: FlagType = "boolean";
const details: EvaluationDetails<boolean> = engine.evaluate("new-checkout", user, false, type);
const reason: Reason = details.reason;
const code: ErrorCode | undefined = details.errorCode;
const all: Record<string, EvaluationDetails<JsonValue | null>> = engine.evaluateAll(user);
const answer: OfrepAnswer = engine.ofrep("new-checkout", user);
const answerStatus: number = answer.status + JSON.parse(engine.ofrep(undefined, user).body).flags.length;
const track: TrackData = { value: 1, success: true, latencyMs: 12, flags: ["new-checkout"] };
engine.track("checkout", user, track);
const ofContext = { targetingKey: "u1", plan: "beta" };
const batch: MetricsBatch | null = engine.takeMetrics();
const reasons: readonly Reason[] = REASONS;
const codes: readonly ErrorCode[] = ERROR_CODES;
const sdk: string = SDK_NAME;
const secret: boolean = isPrivate("patient.id", ["patient.*"]);
const traced: EvaluationTrace | null = traceEvaluation(engine, "new-checkout", user);
const firstStep: TraceStep | undefined = traced?.steps[0];
const stepText: string = firstStep === undefined ? "" : describeStep(firstStep);
const bucket: number | null = firstStep?.step === "rollout" ? firstStep.bucket : null;
const traceText: string = traced === null ? "" : `${traced.timestamp} ${traced.durationMs} ${formatTrace(traced)}`;
const logTraces: Tracer = tracer((t: EvaluationTrace) => console.log(t.reason, t.steps.length), { flags: ["new-checkout"] });
const tracedEngine = new Engine({ ...engineOptions, trace: logTraces });
tracedEngine.free();
ctx.free();
engine.free();

const client: Client = await createClient({ ...options, trace: logTraces });
const clientTrace: EvaluationTrace | null = traceEvaluation(client, "new-checkout", user);
console.log(clientTrace?.steps);
client.on("change", (change: FlagChange) => console.log(change.key, change.value, change.details.reason));
client.on("error", (e: VexilError) => {
  const rejection: RejectionCode | string = e.code;
  console.log(rejection, e.source);
});
const direct = new Client(options);
direct.close();
const lastError: VexilError | null = client.lastError;
await client.flush();
client.close();

await inline.ready();
const inlineClient: inline.Client = await inline.createClient(options);
const inlineEngine: inline.Engine = new inline.Engine(engineOptions);
inlineEngine.free();
inlineClient.close();

// The providers satisfy OpenFeature's Provider types (server: Promises; web: values).
const serverProvider: Provider = new VexilProvider(options);
await OpenFeature.setProviderAndWait(serverProvider);
OpenFeature.setProvider("vexil", new VexilProvider(options));
const resolved: boolean = (await new VexilProvider(options).resolveBooleanEvaluation("new-checkout", false, ofContext)).value;
const webProvider: WebProvider = new VexilWebProvider(options);
await WebOpenFeature.setProviderAndWait(webProvider);
WebOpenFeature.setProvider("vexil", new VexilWebProvider(options));
const webResolved: boolean = new VexilWebProvider(options).resolveBooleanEvaluation("new-checkout", false, ofContext).value;
const providerClient: Client | null = new VexilProvider(options).client;
const webClient: Client | null = new VexilWebProvider(options).client;

console.log(stepText, bucket, traceText);
console.log(version, valid, on, banner, limit, themeBg, code, all, batch, reasons, codes, sdk, secret, lastError, resolved, webResolved, providerClient, webClient);
