//! `porch operators`: the entry point shared by the `porch` binary's `operators` and
//! `standalone` subcommands.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::admin::{self, AdminState};
use crate::context::{Context, system_clock};
use crate::decision::SyncSettings;
use crate::lease::{LeaseLock, LeaseSettings};
use crate::metrics::Metrics;
use crate::source::RepositorySource;
use crate::{packagerev, repository};

/// Parse a Go-style duration (`90s`, `5m`, `1h30m`, `250ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("invalid duration {text:?}"));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(value),
            "s" => Duration::from_secs(value),
            "m" => Duration::from_secs(value.saturating_mul(60)),
            "h" => Duration::from_secs(value.saturating_mul(3600)),
            other => return Err(format!("invalid duration {text:?}: unknown unit {other:?}")),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Flags of `porch operators`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct OperatorsArgs {
    /// Address of the admin server (`/healthz`, `/readyz`, `/metrics`).
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub admin_address: SocketAddr,
    /// Full sync period of repositories without `spec.sync.schedule`.
    #[arg(long = "repositories.full-sync-frequency", value_parser = parse_duration, default_value = "1h")]
    pub full_sync_frequency: Duration,
    /// Connectivity check period between full syncs.
    #[arg(long = "repositories.health-check-frequency", value_parser = parse_duration, default_value = "5m")]
    pub health_check_frequency: Duration,
    /// Upper bound of the error backoff.
    #[arg(long = "repositories.max-error-backoff", value_parser = parse_duration, default_value = "10m")]
    pub max_error_backoff: Duration,
    /// Full syncs running at once across all repositories.
    #[arg(long = "repositories.max-concurrent-syncs", default_value_t = 10)]
    pub max_concurrent_syncs: usize,
    /// Open each repository with the CA bundle of its namespace (Secret
    /// `<namespace>-ca-bundle`, key `ca.crt`), for git servers with a private CA.
    #[arg(long = "repositories.use-user-defined-ca-bundle", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub use_user_defined_ca_bundle: bool,
    /// Reconciles in flight per controller.
    #[arg(long, default_value_t = 32)]
    pub max_concurrent_reconciles: u16,
    /// Elect a leader through a Lease (turn off for a single instance).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Namespace of the Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "porch-system")]
    pub lease_namespace: String,
    /// Name of the Lease.
    #[arg(long, default_value = "porch-operators")]
    pub lease_name: String,
    /// Holder identity (defaults to `$POD_NAME`, else the host name and process id).
    #[arg(long, env = "POD_NAME")]
    pub lease_identity: Option<String>,
    /// Lease validity without renewal.
    #[arg(long, value_parser = parse_duration, default_value = "15s")]
    pub lease_duration: Duration,
    /// Lease renewal (and standby retry) period.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub lease_renew_period: Duration,
}

impl OperatorsArgs {
    /// The sync timing settings.
    pub fn sync_settings(&self) -> SyncSettings {
        SyncSettings {
            full_sync_frequency: self.full_sync_frequency,
            health_check_frequency: self.health_check_frequency,
            max_error_backoff: self.max_error_backoff,
        }
    }

    fn identity(&self) -> String {
        self.lease_identity.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "porch-operators".into());
            format!("{host}-{}", std::process::id())
        })
    }
}

/// Why the operators stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("failed to bind the admin server on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("admin server failed: {0}")]
    Admin(std::io::Error),
}

/// How long a stopping controller may take to finish the reconciles in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Resolves when a controller must stop even if not finished: at once after `shutdown` if its
/// store never became ready (kube-runtime's runner would wait for it forever, e.g. while the
/// API server is unreachable), else [`SHUTDOWN_GRACE`] after it.
pub async fn grace_expired<K>(
    shutdown: impl Future<Output = ()>,
    store: kube::runtime::reflector::Store<K>,
) where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    use futures::FutureExt;
    shutdown.await;
    if store.wait_until_ready().now_or_never().is_some() {
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    }
}

/// A future that resolves once `rx` reads `true`.
fn signalled(mut rx: watch::Receiver<bool>) -> impl Future<Output = ()> + Send + Sync + 'static {
    let (tx, done) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = rx.wait_for(|stop| *stop).await;
        let _ = tx.send(());
    });
    async move {
        let _ = done.await;
    }
}

/// Both controllers until `stop` reads `true`.
async fn run_controllers(ctx: Arc<Context>, concurrency: u16, stop: watch::Receiver<bool>) {
    tokio::join!(
        repository::run_controller(ctx.clone(), concurrency, signalled(stop.clone())),
        packagerev::run_controller(ctx, concurrency, signalled(stop)),
    );
}

/// Run the Repository and PackageRev controllers (behind the Lease unless
/// `--leader-elect=false`) and the admin server, until `shutdown` resolves; then stop the
/// controllers gracefully and release the Lease.
pub async fn run(
    client: kube::Client,
    args: OperatorsArgs,
    source: Arc<dyn RepositorySource>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let metrics = Arc::new(Metrics::default());
    let admin_state = Arc::new(AdminState {
        metrics: metrics.clone(),
        ..AdminState::default()
    });
    let listener = admin::bind(args.admin_address)
        .await
        .map_err(|source| RunError::Bind {
            addr: args.admin_address,
            source,
        })?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let admin_task = tokio::spawn(admin::serve(
        listener,
        admin_state.clone(),
        signalled(stop_rx.clone()),
    ));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut ctx = Context::new(
        client.clone(),
        source,
        args.sync_settings(),
        args.max_concurrent_syncs,
        metrics.clone(),
        system_clock(),
    );
    ctx.use_user_ca_bundle = args.use_user_defined_ca_bundle;
    let ctx = Arc::new(ctx);
    admin_state.ready.store(true, Ordering::Relaxed);
    info!(admin = %args.admin_address, leader_elect = args.leader_elect, "porch operators starting");
    if args.leader_elect {
        let lock = LeaseLock::new(
            client,
            LeaseSettings {
                namespace: args.lease_namespace.clone(),
                name: args.lease_name.clone(),
                identity: args.identity(),
                lease_duration: args.lease_duration,
                renew_period: args.lease_renew_period,
            },
        );
        lead(&lock, ctx, args.max_concurrent_reconciles, stop_rx).await;
    } else {
        metrics.set_leader(true);
        run_controllers(ctx, args.max_concurrent_reconciles, stop_rx).await;
    }
    metrics.set_leader(false);
    match admin_task.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RunError::Admin(e)),
        Err(e) => Err(RunError::Admin(std::io::Error::other(e))),
    }
}

/// Acquire the Lease, run the controllers while it is held, stop them when it is lost, and
/// try again, until `shutdown` reads `true`.
async fn lead(
    lock: &LeaseLock,
    ctx: Arc<Context>,
    concurrency: u16,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = lock.settings().renew_period;
    while !*shutdown.borrow() {
        match lock.try_acquire_or_renew(ctx.now()).await {
            Ok(true) => {}
            Ok(false) => {
                wait_or_stop(&mut shutdown, period).await;
                continue;
            }
            Err(e) => {
                warn!(error = %e, "lease acquisition failed");
                wait_or_stop(&mut shutdown, period).await;
                continue;
            }
        }
        info!(identity = %lock.settings().identity, "acquired the leader lease");
        ctx.metrics.set_leader(true);
        let (lost_tx, lost_rx) = watch::channel(false);
        let controllers = tokio::spawn(run_controllers(ctx.clone(), concurrency, lost_rx));
        let mut last_renewal = ctx.now();
        loop {
            wait_or_stop(&mut shutdown, period).await;
            if *shutdown.borrow() {
                break;
            }
            match lock.try_acquire_or_renew(ctx.now()).await {
                Ok(true) => last_renewal = ctx.now(),
                Ok(false) => break,
                Err(e) => {
                    warn!(error = %e, "lease renewal failed");
                    let held_until = last_renewal
                        .checked_add(
                            jiff::SignedDuration::try_from(lock.settings().lease_duration)
                                .unwrap_or_default(),
                        )
                        .unwrap_or(last_renewal);
                    if ctx.now() >= held_until {
                        break;
                    }
                }
            }
        }
        let _ = lost_tx.send(true);
        let _ = controllers.await;
        ctx.metrics.set_leader(false);
        if *shutdown.borrow() {
            if let Err(e) = lock.release(ctx.now()).await {
                warn!(error = %e, "lease release failed");
            }
            break;
        }
        warn!("lost the leader lease; controllers stopped");
    }
}

async fn wait_or_stop(shutdown: &mut watch::Receiver<bool>, period: Duration) {
    let _ = tokio::time::timeout(period, shutdown.wait_for(|stop| *stop)).await;
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: OperatorsArgs,
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn flags_and_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.args.full_sync_frequency, Duration::from_secs(3600));
        assert_eq!(cli.args.health_check_frequency, Duration::from_secs(300));
        assert!(cli.args.leader_elect);
        assert_eq!(cli.args.admin_address.ip().to_string(), "127.0.0.1");
        let cli = Cli::try_parse_from([
            "x",
            "--leader-elect=false",
            "--repositories.full-sync-frequency=10m",
            "--repositories.max-concurrent-syncs=3",
        ])
        .unwrap();
        assert!(!cli.args.leader_elect);
        assert_eq!(
            cli.args.sync_settings().full_sync_frequency,
            Duration::from_secs(600)
        );
        assert_eq!(cli.args.max_concurrent_syncs, 3);
    }
}

#[cfg(test)]
mod shutdown_tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::fixtures::{FakeSource, mock_client};
    use crate::source::FetchedRepository;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: OperatorsArgs,
    }

    #[tokio::test]
    async fn stops_gracefully_when_asked() {
        let (client, _api) = mock_client();
        let args =
            Cli::try_parse_from(["x", "--leader-elect=false", "--admin-address=127.0.0.1:0"])
                .unwrap()
                .args;
        let source = FakeSource::new(Ok(FetchedRepository::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(client, args, source, async {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!task.is_finished(), "runs until asked to stop");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("did not stop")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn reports_an_unusable_admin_address() {
        let (client, _api) = mock_client();
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let args = Cli::try_parse_from(["x", "--leader-elect=false", "--admin-address", &addr])
            .unwrap()
            .args;
        let source = FakeSource::new(Ok(FetchedRepository::default()));
        let err = run(client, args, source, async {}).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("failed to bind the admin server"),
            "{err}"
        );
    }
}
#[cfg(test)]
mod stop_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::fixtures::{FakeSource, test_context};
    use crate::source::FetchedRepository;

    #[tokio::test]
    async fn repository_controller_stops_while_the_api_never_answers() {
        let (ctx, _api) = test_context(FakeSource::new(Ok(FetchedRepository::default())));
        let f = crate::repository::run_controller(
            ctx,
            2,
            tokio::time::sleep(Duration::from_millis(100)),
        );
        tokio::time::timeout(Duration::from_secs(3), f)
            .await
            .expect("repo ctl");
    }

    #[tokio::test]
    async fn packagerev_controller_stops_while_the_api_never_answers() {
        let (ctx, _api) = test_context(FakeSource::new(Ok(FetchedRepository::default())));
        let f = crate::packagerev::run_controller(
            ctx,
            2,
            tokio::time::sleep(Duration::from_millis(100)),
        );
        tokio::time::timeout(Duration::from_secs(3), f)
            .await
            .expect("pr ctl");
    }

    #[tokio::test]
    async fn admin_server_stops() {
        let state = Arc::new(crate::admin::AdminState::default());
        let l = crate::admin::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let f = crate::admin::serve(l, state, tokio::time::sleep(Duration::from_millis(100)));
        tokio::time::timeout(Duration::from_secs(3), f)
            .await
            .expect("admin")
            .unwrap();
    }
}

#[cfg(test)]
mod leader_tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use http::Method;
    use serde_json::json;

    use super::*;
    use crate::fixtures::{FakeSource, ts};
    use crate::source::FetchedRepository;

    /// Only the Lease holder runs controllers; on shutdown it stops them and releases the
    /// Lease. The fake API answers by path: no Lease at first, empty lists, watches that
    /// never produce an event.
    #[tokio::test]
    async fn leads_then_releases_on_shutdown() {
        let (client, mut api) = crate::fixtures::mock_client();
        let lease_writes: Arc<Mutex<Vec<(Method, serde_json::Value)>>> = Arc::default();
        let writes = lease_writes.clone();
        let server = tokio::spawn(async move {
            let mut lease: Option<serde_json::Value> = None;
            let mut held_watches = Vec::new();
            while let Some(seen) = api.next_any().await {
                if seen.path.contains("/leases") {
                    if seen.method != Method::GET {
                        writes
                            .lock()
                            .unwrap()
                            .push((seen.method.clone(), seen.body.clone()));
                        let mut stored = seen.body.clone();
                        stored["metadata"]["resourceVersion"] = json!("1");
                        lease = Some(stored.clone());
                        let code = if seen.method == Method::POST {
                            201
                        } else {
                            200
                        };
                        seen.reply(code, stored);
                    } else if let Some(l) = &lease {
                        seen.ok(l.clone());
                    } else {
                        seen.fail(404, "NotFound");
                    }
                } else if seen.query.contains("watch=true") {
                    held_watches.push(seen);
                } else {
                    seen.ok(json!({"apiVersion": "v1", "kind": "List",
                                   "metadata": {"resourceVersion": "1"}, "items": []}));
                }
            }
        });
        let metrics = Arc::new(Metrics::default());
        let ctx = Arc::new(Context::new(
            client.clone(),
            FakeSource::new(Ok(FetchedRepository::default())),
            SyncSettings::default(),
            1,
            metrics.clone(),
            Arc::new(|| ts("2026-03-01T12:00:00Z")),
        ));
        let lock = LeaseLock::new(
            client,
            LeaseSettings {
                namespace: "porch-system".into(),
                name: "porch-operators".into(),
                identity: "me".into(),
                lease_duration: Duration::from_secs(15),
                renew_period: Duration::from_millis(50),
            },
        );
        let (stop, stop_rx) = watch::channel(false);
        let leader = tokio::spawn(async move { lead(&lock, ctx, 2, stop_rx).await });
        for _ in 0..100 {
            if metrics.is_leader() && lease_writes.lock().unwrap().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(metrics.is_leader(), "acquired the lease");
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), leader)
            .await
            .expect("leader loop did not stop")
            .unwrap();
        assert!(!metrics.is_leader());
        let writes = lease_writes.lock().unwrap().clone();
        assert_eq!(writes[0].0, Method::POST, "created");
        assert_eq!(writes[0].1["spec"]["holderIdentity"], "me");
        assert!(writes.len() >= 3, "renewed at least once: {writes:?}");
        let (method, released) = writes.last().unwrap();
        assert_eq!(method, Method::PUT);
        assert!(
            released["spec"].get("holderIdentity").is_none(),
            "released: {released}"
        );
        server.abort();
    }
}
