//! Origin settings: `vexil.toml` in the data directory, written with defaults by
//! `vexil init` and read when `vexil serve` starts.

use super::governance::{venues, GovernanceConfig, TradingHours};
use super::OriginError;
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// The settings file `vexil init` writes.
pub const DEFAULT_TOML: &str = r#"# Vexil origin settings. Changes take effect when `vexil serve` restarts.

[governance]
# Flag keys must match this pattern.
naming = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'
# Dodd-Frank flags retain records at least this many days.
min_retention_days = 1825

# MiFID II change freeze: trading venues and their calendars. A MiFID_II flag does
# not change while any of its `venues` (all, if it lists none) is in session; its
# changes are held until they are all closed. Uncomment to enable.
# [[governance.venues]]
# name = "XLON"
# time_zone = "Europe/London"          # IANA name; sessions are local times
# holidays_file = "xlon-holidays.txt"  # a date (closed) or "date HH:MM" (early close) a line, relative to this file
# [[governance.venues.sessions]]
# weekdays = [1, 2, 3, 4, 5]           # ISO weekdays, 1 = Monday
# open = "08:00"
# close = "16:30"                      # before `open`: closes the next day
#
# The older form, one session in UTC (the venue `trading_hours`):
# [governance.trading_hours]
# weekdays = [1, 2, 3, 4, 5]
# open = "08:00"
# close = "16:30"

[snapshots]
# How long a published snapshot stays fresh; the origin re-signs before half of it passes.
expires_in = "24h"
# true: anyone may read snapshots (they are signed, not secret) and CDNs may cache them.
# false: reading a snapshot needs an SDK key or a token.
public = false
# With `public = true`: how long a CDN or browser may reuse a snapshot without asking.
max_age_seconds = 10

[keys]
# After `vexil keys rotate`, snapshots signed by the previous key stay valid this long.
rotation_overlap = "7d"

[events]
# How often each server reads the database for new snapshots and kills to push to its
# event streams (GET /api/v1/environments/ENV/events). On PostgreSQL the writing
# replica also wakes every replica at once (LISTEN/NOTIFY); this is the fallback.
poll_interval = "200ms"

[rollouts]
# How often the scheduler checks running rollouts against their guards.
check_interval = "5s"
# Whether metrics posted with client SDK keys (public: they ship in browser code)
# count for rollout guards. false: only server keys' metrics do, unless a rollout
# opts in with its own `count_client_metrics`.
count_client_metrics = false

[metrics]
# What one metrics batch may claim; a batch beyond it is refused (422) and counted
# as a reject of the key that sent it.
# Evaluations of one flag, or calls of one tracked event, in one batch.
max_evaluations_per_batch = 10000000
# Outcomes attributed to a flag variant beyond its evaluations in the same batch (a
# unit evaluated just before a flush reports its outcomes in the next batch).
max_outcomes_beyond_evaluations = 100000
# The longest aggregation window of one batch.
max_window = "24h"
# How far in the future a batch's window (or audit event) may end: clock skew.
clock_skew = "5m"

[ofrep]
# OFREP evaluation (/ofrep/v1/...) per SDK key: average rate and burst; beyond them
# requests get 429 with Retry-After.
requests_per_second = 100
burst = 200

[webhooks]
# Attempts per delivery before it is marked failed (backoff 1 s, 2 s, 4 s, ...).
max_attempts = 8

# Publish targets: copies of every new snapshot for static hosting, object stores or
# Workers KV (edges verify signatures, so these channels need no trust).
# [[publish.directory]]
# path = "/var/www/vexil"            # writes <path>/<env>/snapshot.json
# [[publish.cloudflare_kv]]
# account_id = "<account id>"
# namespace_id = "<KV namespace id>"
# api_token_env = "CLOUDFLARE_API_TOKEN"
# key = "vexil/{env}/snapshot"

# Health probes of the systems flags depend on (named in their `affected_systems` or
# `clinical_systems_affected`). After `failures` consecutive failed checks the system
# is down: its flags are killed (or, with action = "pause", their rollouts paused),
# audited as system.down and sent to webhooks; with recovery = "manual" they stay off
# until a person enables them.
# [[health.systems]]
# name = "clinical_alerts"
# url = "http://alerts.internal:8080/healthz"   # any 2xx is healthy
# interval = "10s"
# timeout = "2s"
# failures = 3
# action = "kill"          # kill | pause
# recovery = "manual"      # manual | auto

[insights]
# A flag serving one variant to everyone (or disabled) this many days should be removed.
settled_days = 30
# A change request pending this many days is reported.
stale_change_days = 7
# A flag with no evaluations reported for this many days is reported as unused.
stale_evaluation_days = 14
"#;

/// All origin settings.
#[derive(Debug, Clone)]
pub struct OriginConfig {
    /// Governance policies' settings.
    pub governance: GovernanceConfig,
    /// Lifetime of a published snapshot.
    pub snapshot_ttl: Duration,
    /// Whether snapshots are readable without credentials (and cacheable by CDNs).
    pub public_snapshots: bool,
    /// `max-age` for public snapshots.
    pub snapshot_max_age: u32,
    /// How long the previous key stays valid after a rotation.
    pub rotation_overlap: Duration,
    /// Where published snapshots are copied.
    pub publish: super::targets::Targets,
    /// How often the rollout scheduler runs.
    pub rollout_check_interval: Duration,
    /// How often the event watcher reads the outbox without being woken.
    pub events_poll_interval: Duration,
    /// Whether client SDK keys' metrics count for rollout guards by default.
    pub count_client_metrics: bool,
    /// What one metrics batch may claim.
    pub metric_limits: super::batch_checks::Limits,
    /// OFREP requests per second per SDK key.
    pub ofrep_per_second: u32,
    /// OFREP burst per SDK key.
    pub ofrep_burst: u32,
    /// Webhook delivery attempts before giving up.
    pub webhook_max_attempts: u32,
    /// Days after which a settled flag is reported for removal.
    pub settled_days: u32,
    /// Days after which a pending change is reported.
    pub stale_change_days: u32,
    /// Days without evaluations after which a flag is reported as unused.
    pub stale_evaluation_days: u32,
    /// Systems whose health endpoints the origin probes.
    pub health: Vec<super::health::System>,
}

impl Default for OriginConfig {
    fn default() -> Self {
        OriginConfig::from_toml(DEFAULT_TOML).expect("the default settings parse")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    governance: GovernanceSection,
    #[serde(default)]
    snapshots: SnapshotsSection,
    #[serde(default)]
    keys: KeysSection,
    #[serde(default)]
    events: EventsSection,
    #[serde(default)]
    rollouts: RolloutsSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    publish: super::targets::Targets,
    #[serde(default)]
    webhooks: WebhooksSection,
    #[serde(default)]
    ofrep: OfrepSection,
    #[serde(default)]
    insights: InsightsSection,
    #[serde(default)]
    health: super::health::HealthSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GovernanceSection {
    naming: Option<String>,
    min_retention_days: Option<u32>,
    trading_hours: Option<HoursSection>,
    #[serde(default)]
    venues: Vec<venues::VenueSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursSection {
    weekdays: Vec<u8>,
    open: String,
    close: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SnapshotsSection {
    expires_in: Option<String>,
    public: Option<bool>,
    max_age_seconds: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeysSection {
    rotation_overlap: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EventsSection {
    poll_interval: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RolloutsSection {
    check_interval: Option<String>,
    count_client_metrics: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    max_evaluations_per_batch: Option<u64>,
    max_outcomes_beyond_evaluations: Option<u64>,
    max_window: Option<String>,
    clock_skew: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OfrepSection {
    requests_per_second: Option<u32>,
    burst: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct WebhooksSection {
    max_attempts: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InsightsSection {
    settled_days: Option<u32>,
    stale_change_days: Option<u32>,
    stale_evaluation_days: Option<u32>,
}

fn bad(message: String) -> OriginError {
    OriginError::Config(message)
}

pub(super) fn duration(
    field: &str,
    text: Option<String>,
    default: &str,
) -> Result<Duration, OriginError> {
    let text = text.unwrap_or_else(|| default.to_string());
    humantime::parse_duration(&text).map_err(|e| {
        bad(format!(
            "`{field}` = \"{text}\" is not a duration such as 24h: {e}"
        ))
    })
}

/// `HH:MM` as minutes after midnight (24:00 allowed as the end of the day).
fn minute_of_day(field: &str, text: &str) -> Result<u16, OriginError> {
    let parsed = text.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    });
    parsed.ok_or_else(|| {
        bad(format!(
            "`{field}` = \"{text}\" is not a time of day such as 08:00"
        ))
    })
}

impl OriginConfig {
    /// Parses settings; every missing value takes its default. Files they name
    /// (venues' holidays) are read relative to the current directory.
    pub fn from_toml(text: &str) -> Result<OriginConfig, OriginError> {
        OriginConfig::from_toml_in(text, Path::new("."))
    }

    /// Parses the settings file of directory `dir`: files it names are read
    /// relative to `dir`.
    pub fn from_toml_in(text: &str, dir: &Path) -> Result<OriginConfig, OriginError> {
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let g = file.governance;
        let mut governance = GovernanceConfig::default();
        if let Some(pattern) = g.naming {
            governance.naming = regex_lite::Regex::new(&pattern)
                .map_err(|e| bad(format!("`governance.naming` is not a valid pattern: {e}")))?;
        }
        if let Some(days) = g.min_retention_days {
            governance.min_retention_days = days;
        }
        if let Some(h) = g.trading_hours {
            if h.weekdays.is_empty() || h.weekdays.iter().any(|d| !(1..=7).contains(d)) {
                return Err(bad(
                    "`governance.trading_hours.weekdays` lists ISO weekdays 1 (Monday) to 7".into(),
                ));
            }
            let open = minute_of_day("governance.trading_hours.open", &h.open)?;
            let close = minute_of_day("governance.trading_hours.close", &h.close)?;
            if open >= close {
                return Err(bad(
                    "`governance.trading_hours`: `open` must be before `close`".into(),
                ));
            }
            governance.trading_hours = Some(TradingHours {
                weekdays: h.weekdays,
                open_minute: open,
                close_minute: close,
            });
        }
        governance.venues = venues::venues(&g.venues, dir, governance.trading_hours.is_some())
            .map_err(|e| bad(e.to_string()))?;
        let snapshot_ttl = duration("snapshots.expires_in", file.snapshots.expires_in, "24h")?;
        if snapshot_ttl < Duration::from_secs(60) {
            return Err(bad("`snapshots.expires_in` must be at least 1m".into()));
        }
        Ok(OriginConfig {
            governance,
            snapshot_ttl,
            public_snapshots: file.snapshots.public.unwrap_or(false),
            snapshot_max_age: file.snapshots.max_age_seconds.unwrap_or(10),
            rotation_overlap: duration("keys.rotation_overlap", file.keys.rotation_overlap, "7d")?,
            publish: {
                file.publish.validate()?;
                file.publish
            },
            rollout_check_interval: duration(
                "rollouts.check_interval",
                file.rollouts.check_interval,
                "5s",
            )?
            .max(Duration::from_millis(100)),
            // A floor, so a typo cannot turn the watcher into a busy loop.
            events_poll_interval: duration(
                "events.poll_interval",
                file.events.poll_interval,
                "200ms",
            )?
            .max(Duration::from_millis(20)),
            count_client_metrics: file.rollouts.count_client_metrics.unwrap_or(false),
            metric_limits: {
                let m = file.metrics;
                let d = super::batch_checks::Limits::default();
                super::batch_checks::Limits {
                    max_evaluations: m
                        .max_evaluations_per_batch
                        .unwrap_or(d.max_evaluations)
                        .max(1),
                    max_outcomes_beyond_evaluations: m
                        .max_outcomes_beyond_evaluations
                        .unwrap_or(d.max_outcomes_beyond_evaluations),
                    max_window_ms: duration("metrics.max_window", m.max_window, "24h")?
                        .as_millis()
                        .min(i64::MAX as u128) as i64,
                    clock_skew_ms: duration("metrics.clock_skew", m.clock_skew, "5m")?
                        .as_millis()
                        .min(i64::MAX as u128) as i64,
                }
            },
            ofrep_per_second: file.ofrep.requests_per_second.unwrap_or(100).max(1),
            ofrep_burst: file.ofrep.burst.unwrap_or(200).max(1),
            webhook_max_attempts: file.webhooks.max_attempts.unwrap_or(8).clamp(1, 30),
            settled_days: file.insights.settled_days.unwrap_or(30),
            stale_change_days: file.insights.stale_change_days.unwrap_or(7),
            stale_evaluation_days: file.insights.stale_evaluation_days.unwrap_or(14),
            health: file.health.systems(duration)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_trading_hours_are_read() {
        let config = OriginConfig::default();
        assert!(config.governance.trading_hours.is_none());
        assert_eq!(config.snapshot_ttl, Duration::from_secs(86_400));
        let config = OriginConfig::from_toml(
            "[governance.trading_hours]\nweekdays = [1,2,3,4,5]\nopen = \"08:00\"\nclose = \"16:30\"\n",
        )
        .unwrap();
        let hours = config.governance.trading_hours.unwrap();
        assert_eq!((hours.open_minute, hours.close_minute), (480, 990));
    }

    #[test]
    fn the_event_poll_defaults_to_200ms_and_has_a_floor() {
        let poll = |toml: &str| OriginConfig::from_toml(toml).unwrap().events_poll_interval;
        assert_eq!(
            OriginConfig::default().events_poll_interval,
            Duration::from_millis(200)
        );
        assert_eq!(
            poll("[events]\npoll_interval = \"30s\"\n"),
            Duration::from_secs(30)
        );
        assert_eq!(
            poll("[events]\npoll_interval = \"1ms\"\n"),
            Duration::from_millis(20)
        );
        let err = OriginConfig::from_toml("[events]\npoll_interval = \"often\"\n").unwrap_err();
        assert!(err.to_string().contains("events.poll_interval"), "{err}");
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let err = OriginConfig::from_toml("[snapshots]\nexpires_in = \"soon\"\n").unwrap_err();
        assert!(err.to_string().contains("snapshots.expires_in"), "{err}");
        let err = OriginConfig::from_toml("[governance]\nnaming = \"(\"\n").unwrap_err();
        assert!(err.to_string().contains("governance.naming"), "{err}");
        let err = OriginConfig::from_toml("[snapshot]\n").unwrap_err();
        assert!(err.to_string().contains("snapshot"), "{err}");
        let err = OriginConfig::from_toml(
            "[governance.trading_hours]\nweekdays = [1]\nopen = \"17:00\"\nclose = \"09:00\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("before"), "{err}");
    }

    const XLON: &str = "[[governance.venues]]\nname = \"XLON\"\ntime_zone = \"Europe/London\"\nholidays_file = \"cal/xlon.txt\"\n[[governance.venues.sessions]]\nweekdays = [1, 2, 3, 4, 5]\nopen = \"08:00\"\nclose = \"16:30\"\n";

    fn dir_with_holidays(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cal")).unwrap();
        std::fs::write(dir.path().join("cal/xlon.txt"), text).unwrap();
        dir
    }

    #[test]
    fn venues_are_read_with_holidays_relative_to_the_settings_file() {
        let dir = dir_with_holidays("# 2026\n2026-12-25\n2026-12-28 # Boxing Day (substitute)\n");
        let toml = format!("{XLON}[[governance.venues]]\nname = \"XTKS\"\ntime_zone = \"Asia/Tokyo\"\nsessions = [{{ weekdays = [1,2,3,4,5], open = \"09:00\", close = \"11:30\" }}, {{ weekdays = [1,2,3,4,5], open = \"12:30\", close = \"15:00\" }}]\n[governance.trading_hours]\nweekdays = [1]\nopen = \"09:00\"\nclose = \"10:00\"\n");
        let config = OriginConfig::from_toml_in(&toml, dir.path()).unwrap();
        let [xlon, xtks] = &config.governance.venues[..] else {
            panic!("{:?}", config.governance.venues)
        };
        assert_eq!(
            (xlon.name.as_str(), xlon.time_zone_name()),
            ("XLON", "Europe/London")
        );
        assert_eq!(xlon.holidays.len(), 2);
        assert_eq!(xtks.sessions.len(), 2);
        assert!(config.governance.trading_hours.is_some());
    }

    #[test]
    fn bad_venues_say_what_is_wrong() {
        let dir = dir_with_holidays("2026-12-25\n2026-02-30\n");
        let err = OriginConfig::from_toml_in(XLON, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cal/xlon.txt:2: `2026-02-30` is not an ISO date"),
            "{err}"
        );
        let err = OriginConfig::from_toml_in(XLON, Path::new("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read holidays file /nonexistent/cal/xlon.txt"),
            "{err}"
        );
        let venue = |body: &str| format!("[[governance.venues]]\n{body}\n");
        let session =
            "[[governance.venues.sessions]]\nweekdays = [1]\nopen = \"08:00\"\nclose = \"16:30\"";
        for (toml, says) in [
            (venue(&format!("name = \"XLON\"\ntime_zone = \"Europe/Londres\"\n{session}")), "`governance.venues[0].time_zone` = \"Europe/Londres\" is not an IANA time zone"),
            (venue("name = \"XLON\"\ntime_zone = \"UTC\""), "`governance.venues[0].sessions` lists no sessions"),
            (venue(&format!("name = \"X LON\"\ntime_zone = \"UTC\"\n{session}")), "a venue name is non-empty"),
            (venue(&format!("name = \"XLON\"\ntime_zone = \"UTC\"\n{session}\n[[governance.venues]]\nname = \"XLON\"\ntime_zone = \"UTC\"\n{session}")), "`governance.venues[1].name`: venue `XLON` is declared twice"),
            (venue(&format!("name = \"trading_hours\"\ntime_zone = \"UTC\"\n{session}\n[governance.trading_hours]\nweekdays = [1]\nopen = \"08:00\"\nclose = \"09:00\"")), "venue `trading_hours` is declared twice"),
            (venue("name = \"XLON\"\ntime_zone = \"UTC\"\n[[governance.venues.sessions]]\nweekdays = [0]\nopen = \"08:00\"\nclose = \"16:30\""), "`governance.venues[0].sessions[0].weekdays` lists ISO weekdays"),
            (venue("name = \"XLON\"\ntime_zone = \"UTC\"\n[[governance.venues.sessions]]\nweekdays = [1]\nopen = \"8am\"\nclose = \"16:30\""), "`governance.venues[0].sessions[0].open` = \"8am\""),
            (venue("name = \"XLON\"\ntime_zone = \"UTC\"\n[[governance.venues.sessions]]\nweekdays = [1]\nopen = \"08:00\"\nclose = \"08:00\""), "are the same time"),
            (venue("name = \"XLON\"\ntimezone = \"UTC\""), "timezone"),
        ] {
            let err = OriginConfig::from_toml(&toml).unwrap_err().to_string();
            assert!(err.contains(says), "{toml}: {err}");
        }
    }

    #[test]
    fn health_systems_are_read_with_defaults_and_checked() {
        let config = OriginConfig::from_toml(
            "[[health.systems]]\nname = \"clinical_alerts\"\nurl = \"http://alerts/healthz\"\n\n[[health.systems]]\nname = \"vitals\"\nurl = \"https://vitals/up\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nfailures = 2\naction = \"pause\"\nrecovery = \"auto\"\n",
        )
        .unwrap();
        let [alerts, vitals] = &config.health[..] else {
            panic!("{:?}", config.health)
        };
        assert_eq!(
            (alerts.interval, alerts.timeout, alerts.failures),
            (Duration::from_secs(10), Duration::from_secs(2), 3)
        );
        assert_eq!(
            (alerts.action, alerts.recovery),
            (
                super::super::health::Action::Kill,
                super::super::health::Recovery::Manual
            )
        );
        assert_eq!(
            (vitals.failures, vitals.action),
            (2, super::super::health::Action::Pause)
        );
        for (toml, says) in [
            ("[[health.systems]]\nname = \"a\"\nurl = \"ftp://x\"\n", "health.systems[0]"),
            ("[[health.systems]]\nname = \"a\"\nurl = \"http://x\"\n[[health.systems]]\nname = \"a\"\nurl = \"http://y\"\n", "used twice"),
            ("[[health.systems]]\nname = \"a\"\nurl = \"http://x\"\ninterval = \"1s\"\ntimeout = \"5s\"\n", "timeout"),
            ("[[health.systems]]\nname = \"a\"\nurl = \"http://x\"\naction = \"explode\"\n", "explode"),
        ] {
            let err = OriginConfig::from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(says), "{toml}: {err}");
        }
    }
}
