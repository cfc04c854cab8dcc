//! The API's contract: the request bodies and answers of `/api/v1` as types, shared
//! by the server (`origin::http`, which answers with them) and the `vexil` CLI (which
//! reads answers into them), so a field renamed on one side fails to compile on the
//! other instead of printing `-`.
//!
//! Each type serializes to exactly the JSON documented in `docs/api.md`, field order
//! included; `tests/origin_api/contract.rs` holds them to answers captured before
//! the handlers were typed. Parts of an answer that are documents in their own
//! right (a flag definition, a segment clause) stay [`serde_json::Value`]: the
//! engine, not this module, owns their shape.
//!
//! - [`audit`]: the audit log's pages and its verification;
//! - [`changes`]: change requests, their approvals and decisions;
//! - [`environments`]: the environments and their newest snapshots;
//! - [`errors`]: the error answer every route gives;
//! - [`flags`]: flag summaries, details and revision history, an environment's
//!   segments and exclusion groups, and the bodies that propose changes to them;
//! - [`info`]: what the origin says about itself: health, public keys, key
//!   rotation, the caller, the governance policies and their settings;
//! - [`metrics`]: edge metrics: a batch's acknowledgement and a flag's metrics
//!   report;
//! - [`ofrep`]: OFREP's configuration (the protocol's own names);
//! - [`proposals`]: proposed changes as a whole: a dry run, a bulk update's report;
//! - [`reports`]: reports about flags: the lifecycle insights, and one flag's
//!   insights report and audit report;
//! - [`rollouts`]: progressive rollouts and the plan that starts one, their guards
//!   and the scheduler's checks; [`rollout_events`]: their history;
//! - [`snapshots`]: an environment's signed snapshots and their copies at the
//!   publish targets;
//! - [`systems`]: what the health probes announce when a system flags depend on
//!   goes down or comes back up;
//! - [`tokens`]: API tokens and SDK keys;
//! - [`webhooks`]: webhooks, their deliveries and the envelope each posts.

pub mod audit;
pub mod changes;
pub mod environments;
pub mod errors;
pub mod flags;
pub mod info;
pub mod metrics;
pub mod ofrep;
pub mod proposals;
pub mod reports;
pub mod rollout_events;
pub mod rollouts;
pub mod snapshots;
pub mod systems;
pub mod tokens;
pub mod webhooks;

pub use audit::{BrokenLink, Verification};
pub use changes::{
    Applied, Approval, ApproveBody, Change, ChangeListQuery, ChangePage, RejectBody, Rejection,
    Requirement, Violation,
};
pub use environments::{CreatedEnvironment, Environment, EnvironmentList, NewEnvironment};
pub use errors::{ErrorAnswer, ErrorBody, ErrorDetail};
pub use flags::{
    FlagBody, FlagDetail, FlagList, FlagListItem, FlagSummary, GroupBody, History, PromoteBody,
    ReasonBody, ReviewBody, Revision, RollbackBody, RolloutBody, SegmentBody, SegmentList,
};
pub use info::{
    EarlyClose, GovernanceSettings, Health, KeyListing, PolicyInfo, PolicyList, PublicKey,
    RetiringKey, RotateBody, Rotation, SessionInfo, VenueInfo, WhoAmI,
};
pub use metrics::{
    BatchAnswer, BatchRollout, BucketOutcomes, DuplicateBatch, FlagMetrics, KeyKindMetrics,
    MetricsBucket, OutcomeMetrics, StoredBatch, VariantMetrics,
};
pub use ofrep::OfrepConfiguration;
pub use proposals::{
    BulkFailure, BulkReport, BulkResult, BulkStatus, DryRun, DryRunIssue, RaisedRisk, RiskReason,
};
pub use reports::{
    Adoption, AuditChain, AuditReport, AuditSummary, AuditedFlag, BusinessImpact,
    EvaluationMetrics, EventOutcome, FlagInsights, FlagReview, Insight, InsightList, LastReview,
    Lifecycle, Performance, PerformanceMetrics, Recommendation, ReportApproval, RequiredApproval,
    ReviewSchedule, Safeguard, SecurityInformation, UserImpactMetrics, VariantAdoption, VsControl,
    Window,
};
pub use rollout_events::{Aborted, Advanced, Completed, EventDetails, RolledBack, RolloutEvent};
pub use rollouts::{
    BestExecutionCheck, Decision, EventGuard, Figures, Guards, MetricsKey, Rollout, RolloutList,
    RolloutPlan, StageCheck,
};
pub use snapshots::{PublishTarget, PublishTargetList, SnapshotInfo, SnapshotList};
pub use systems::{SystemDown, SystemUp};
pub use tokens::{
    CreatedToken, KeyBatches, NewSdkKey, NewToken, Revoked, SdkKeyList, SdkKeyRow, TokenList,
    TokenRow,
};
pub use webhooks::{
    CreatedWebhook, Delivery, DeliveryAttempt, DeliveryList, Envelope, NewWebhook, Webhook,
    WebhookList, WebhookRemoved,
};
