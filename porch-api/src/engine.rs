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
