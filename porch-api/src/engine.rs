//! An object-safe view of `porch_engine::Engine`, so the handlers are not generic over the
//! engine's backend, metadata store and kpt operations.

use std::sync::Arc;

use futures::future::BoxFuture;
use porch_engine::backend::{MetadataStore, RepositoryBackend};
use porch_engine::content_cache::PackageFiles;
use porch_engine::model::{PackageRevision, RequestUser};
use porch_engine::ops::PackageOps;
use porch_engine::{
    DeleteOutcome, Engine, EngineError, ResourcesUpdate, ResourcesUpdated, Scope, UpdateKind,
    UpdateOutcome,
};

/// The writes and content reads the API needs from the engine.
pub trait PackageEngine: Send + Sync + 'static {
    fn create<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        obj: &'a PackageRevision,
    ) -> BoxFuture<'a, Result<PackageRevision, EngineError>>;

    fn update<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        obj: &'a PackageRevision,
        kind: UpdateKind,
    ) -> BoxFuture<'a, Result<UpdateOutcome, EngineError>>;

    fn delete<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<DeleteOutcome, EngineError>>;

    fn get_resources<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(PackageRevision, Arc<PackageFiles>), EngineError>>;

    fn update_resources<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        request: &'a ResourcesUpdate,
    ) -> BoxFuture<'a, Result<ResourcesUpdated, EngineError>>;
}

impl<B, M, O> PackageEngine for Engine<B, M, O>
where
    B: RepositoryBackend + 'static,
    M: MetadataStore + 'static,
    O: PackageOps + 'static,
{
    fn create<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        obj: &'a PackageRevision,
    ) -> BoxFuture<'a, Result<PackageRevision, EngineError>> {
        Box::pin(Engine::create(self, scope, user, obj))
    }

    fn update<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        obj: &'a PackageRevision,
        kind: UpdateKind,
    ) -> BoxFuture<'a, Result<UpdateOutcome, EngineError>> {
        Box::pin(Engine::update(self, scope, user, name, obj, kind))
    }

    fn delete<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<DeleteOutcome, EngineError>> {
        Box::pin(Engine::delete(self, scope, name))
    }

    fn get_resources<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(PackageRevision, Arc<PackageFiles>), EngineError>> {
        Box::pin(Engine::get_resources(self, scope, name))
    }

    fn update_resources<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        request: &'a ResourcesUpdate,
    ) -> BoxFuture<'a, Result<ResourcesUpdated, EngineError>> {
        Box::pin(Engine::update_resources(self, scope, user, name, request))
    }
}

/// An engine installed after the API group is built: the standalone server must mount the group
/// before it starts, while the engine's PackageRev store needs a client of that running server.
/// Until [`DeferredEngine::install`] runs, writes fail with 500 `Internal error occurred: the
/// package engine is not ready yet`.
#[derive(Default)]
pub struct DeferredEngine {
    inner: std::sync::OnceLock<Arc<dyn PackageEngine>>,
}

impl DeferredEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the engine; a second call is ignored and returns false.
    pub fn install(&self, engine: Arc<dyn PackageEngine>) -> bool {
        self.inner.set(engine).is_ok()
    }

    fn get(&self) -> Result<&Arc<dyn PackageEngine>, EngineError> {
        self.inner
            .get()
            .ok_or_else(|| EngineError::internal("the package engine is not ready yet"))
    }
}

impl PackageEngine for DeferredEngine {
    fn create<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        obj: &'a PackageRevision,
    ) -> BoxFuture<'a, Result<PackageRevision, EngineError>> {
        match self.get() {
            Ok(e) => e.create(scope, user, obj),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn update<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        obj: &'a PackageRevision,
        kind: UpdateKind,
    ) -> BoxFuture<'a, Result<UpdateOutcome, EngineError>> {
        match self.get() {
            Ok(e) => e.update(scope, user, name, obj, kind),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn delete<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<DeleteOutcome, EngineError>> {
        match self.get() {
            Ok(e) => e.delete(scope, name),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn get_resources<'a>(
        &'a self,
        scope: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(PackageRevision, Arc<PackageFiles>), EngineError>> {
        match self.get() {
            Ok(e) => e.get_resources(scope, name),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }

    fn update_resources<'a>(
        &'a self,
        scope: &'a Scope,
        user: &'a RequestUser,
        name: &'a str,
        request: &'a ResourcesUpdate,
    ) -> BoxFuture<'a, Result<ResourcesUpdated, EngineError>> {
        match self.get() {
            Ok(e) => e.update_resources(scope, user, name, request),
            Err(err) => Box::pin(std::future::ready(Err(err))),
        }
    }
}
