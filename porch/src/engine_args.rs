//! Engine flags shared by `porch standalone` and `porch apiserver`.

use porch_engine::EngineOptions;

/// How the engine reaches repositories.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EngineArgs {
    /// Open each repository with the CA bundle in Secret `<namespace>-ca-bundle` (key `ca.crt`)
    /// of its namespace, for git servers whose certificates a private CA signed.
    #[arg(long = "use-user-cabundle")]
    pub use_user_cabundle: bool,
}

impl EngineArgs {
    /// The engine's options for these flags.
    pub fn options(&self) -> EngineOptions {
        EngineOptions {
            use_user_ca_bundle: self.use_user_cabundle,
            ..EngineOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn the_ca_bundle_flag_reaches_the_engine_options() {
        let off = Flags::try_parse_from(["porch"]).unwrap().engine.options();
        assert!(!off.use_user_ca_bundle);
        let on = Flags::try_parse_from(["porch", "--use-user-cabundle"])
            .unwrap()
            .engine
            .options();
        assert!(on.use_user_ca_bundle);
    }
}
