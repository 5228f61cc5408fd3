//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection`
//! does it: create the Lease if missing, renew it while held, take it over once the holder
//! let it expire, and release it on shutdown. Only the holder runs the controllers.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};

use crate::error::{is_already_exists, is_conflict};

/// Lease settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    /// This instance's identity (`holderIdentity`).
    pub identity: String,
    /// How long a Lease stays valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews (and a standby retries).
    pub renew_period: Duration,
}

/// What to do with the Lease as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStep {
    /// No Lease yet: create it.
    Create,
    /// We hold it: renew.
    Renew,
    /// Its holder let it expire (or released it): take it over.
    TakeOver,
    /// Someone else holds it until the given time.
    HeldBy(String),
}

/// Decide from the Lease (if any) what this instance should do (pure).
pub fn lease_step(lease: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseStep {
    let Some(spec) = lease else {
        return LeaseStep::Create;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == identity {
        return LeaseStep::Renew;
    }
    if holder.is_empty() {
        return LeaseStep::TakeOver;
    }
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    let expired = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .is_none_or(|t| t.0.checked_add(duration).is_ok_and(|until| until <= now));
    if expired {
        LeaseStep::TakeOver
    } else {
        LeaseStep::HeldBy(holder.to_string())
    }
}

/// The Lease lock of one instance.
pub struct LeaseLock {
    api: Api<Lease>,
    settings: LeaseSettings,
}

fn duration_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX).max(1)
}

impl LeaseLock {
    pub fn new(client: kube::Client, settings: LeaseSettings) -> Self {
        Self {
            api: Api::namespaced(client, &settings.namespace),
            settings,
        }
    }

    pub fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    /// Try to acquire or renew the Lease at `now`; `Ok(true)` while this instance holds it.
    /// Losing a race (409) is `Ok(false)`, not an error.
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<bool, kube::Error> {
        let current = self.api.get_opt(&self.settings.name).await?;
        let step = lease_step(
            current.as_ref().and_then(|l| l.spec.as_ref()),
            &self.settings.identity,
            now,
        );
        let stamp = Some(MicroTime(now));
        let pp = PostParams::default();
        let result = match (step, current) {
            (LeaseStep::HeldBy(_), _) => return Ok(false),
            (LeaseStep::Create, _) | (_, None) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.settings.name.clone()),
                        namespace: Some(self.settings.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.settings.identity.clone()),
                        lease_duration_seconds: Some(duration_seconds(
                            self.settings.lease_duration,
                        )),
                        acquire_time: stamp.clone(),
                        renew_time: stamp,
                        lease_transitions: Some(0),
                        ..LeaseSpec::default()
                    }),
                };
                self.api.create(&pp, &lease).await
            }
            (step, Some(mut lease)) => {
                let mut spec = lease.spec.take().unwrap_or_default();
                if step == LeaseStep::TakeOver {
                    spec.holder_identity = Some(self.settings.identity.clone());
                    spec.acquire_time = stamp.clone();
                    spec.lease_transitions =
                        Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
                }
                spec.lease_duration_seconds = Some(duration_seconds(self.settings.lease_duration));
                spec.renew_time = stamp;
                lease.spec = Some(spec);
                // Replace carries the resourceVersion read above: a concurrent writer wins.
                self.api.replace(&self.settings.name, &pp, &lease).await
            }
        };
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) || is_already_exists(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Give the Lease up (if held) so a standby takes over at once.
    pub async fn release(&self, now: Timestamp) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.settings.name).await? else {
            return Ok(());
        };
        let mut spec = lease.spec.take().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(now));
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_conflict(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn spec(holder: &str, renewed: &str, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            renew_time: Some(MicroTime(ts(renewed))),
            lease_duration_seconds: Some(secs),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn steps() {
        let now = ts("2026-01-01T00:00:20Z");
        assert_eq!(lease_step(None, "me", now), LeaseStep::Create);
        assert_eq!(
            lease_step(Some(&spec("me", "2026-01-01T00:00:00Z", 15)), "me", now),
            LeaseStep::Renew
        );
        assert_eq!(
            lease_step(Some(&spec("other", "2026-01-01T00:00:10Z", 15)), "me", now),
            LeaseStep::HeldBy("other".into())
        );
        assert_eq!(
            lease_step(Some(&spec("other", "2026-01-01T00:00:05Z", 15)), "me", now),
            LeaseStep::TakeOver
        );
        assert_eq!(
            lease_step(Some(&spec("", "2026-01-01T00:00:19Z", 15)), "me", now),
            LeaseStep::TakeOver
        );
    }
}
