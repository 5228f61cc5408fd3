//! The I/O half of the CR cache: kube-runtime watchers on PackageRev and Repository (any
//! Kubernetes API: the standalone server or a cluster) feeding the index.

use futures::{Stream, StreamExt};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use kube::{Api, Client, Resource};
use porch_crds::config::v1alpha1::{PackageRev, Repository};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::CrCache;

/// How one object kind is fed into the cache.
trait Feed:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static
{
    fn apply(cache: &CrCache, obj: Self);
    fn delete(cache: &CrCache, obj: &Self);
    fn reset(cache: &CrCache, objs: Vec<Self>);
}

impl CrCache {
    /// Whether both watchers have delivered their first complete list. Until then a read may
    /// miss objects, and a write recorded before the first list lands may be dropped by it.
    pub fn is_synced(&self) -> bool {
        self.synced_kinds.load(std::sync::atomic::Ordering::Acquire) >= 2
    }

    fn mark_synced(&self) {
        self.synced_kinds
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn ns_name<K: Resource>(obj: &K) -> (String, String) {
    let m = obj.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

impl Feed for PackageRev {
    fn apply(cache: &CrCache, obj: Self) {
        cache.apply_package_rev(obj);
    }
    fn delete(cache: &CrCache, obj: &Self) {
        let (ns, name) = ns_name(obj);
        cache.delete_package_rev(&ns, &name);
    }
    fn reset(cache: &CrCache, objs: Vec<Self>) {
        cache.reset_package_revs(objs);
    }
}

impl Feed for Repository {
    fn apply(cache: &CrCache, obj: Self) {
        cache.apply_repository(obj);
    }
    fn delete(cache: &CrCache, obj: &Self) {
        let (ns, name) = ns_name(obj);
        cache.delete_repository(&ns, &name);
    }
    fn reset(cache: &CrCache, objs: Vec<Self>) {
        cache.reset_repositories(objs);
    }
}

/// Drives one watcher stream into the cache. A re-list (`Init` .. `InitDone`) is buffered and
/// applied as one `reset`, so objects deleted while the watch was down disappear.
async fn feed<K: Feed>(
    cache: CrCache,
    events: impl Stream<Item = Result<Event<K>, watcher::Error>>,
) {
    let mut events = std::pin::pin!(events);
    let mut relist: Option<Vec<K>> = None;
    let mut synced = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => relist = Some(Vec::new()),
            Ok(Event::InitApply(obj)) => match relist.as_mut() {
                Some(buf) => buf.push(obj),
                None => K::apply(&cache, obj),
            },
            Ok(Event::InitDone) => {
                K::reset(&cache, relist.take().unwrap_or_default());
                if !synced {
                    synced = true;
                    cache.mark_synced();
                }
            }
            Ok(Event::Apply(obj)) => K::apply(&cache, obj),
            Ok(Event::Delete(obj)) => K::delete(&cache, &obj),
            Err(e) => {
                tracing::warn!(kind = %K::kind(&()), error = %e, "CR cache watch failed; retrying")
            }
        }
    }
}

impl CrCache {
    /// A new cache fed by watchers on PackageRev and Repository in every namespace. The handle
    /// runs until aborted.
    pub fn start(client: Client) -> (CrCache, JoinHandle<()>) {
        let cache = CrCache::new();
        let handle = cache.spawn_watchers(client);
        (cache, handle)
    }

    /// Feeds this cache from watchers (for when the cache must exist before the client does,
    /// e.g. a standalone server that serves the group and is also the watched API).
    pub fn spawn_watchers(&self, client: Client) -> JoinHandle<()> {
        let revs = watcher(
            Api::<PackageRev>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff();
        let repos =
            watcher(Api::<Repository>::all(client), watcher::Config::default()).default_backoff();
        let c1 = self.clone();
        let c2 = self.clone();
        tokio::spawn(async move {
            tokio::join!(feed(c1, revs), feed(c2, repos));
        })
    }
}
