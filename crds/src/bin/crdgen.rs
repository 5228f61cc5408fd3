//! `crdgen [OUTDIR]`: writes `config.porch.kpt.dev` CRD YAML files into OUTDIR, or prints
//! them all (as one multi-document stream) when no directory is given.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = match std::env::args_os().nth(1) {
        Some(dir) => porch_crds::crdgen::write_all(&PathBuf::from(dir)).map(|paths| {
            for path in paths {
                println!("wrote {}", path.display());
            }
        }),
        None => porch_crds::crdgen::rendered_files().map(|files| {
            for (_, text) in files {
                print!("---\n{text}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("crdgen: {err}");
            ExitCode::FAILURE
        }
    }
}
