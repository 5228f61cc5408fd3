//! `porchctl`: the command-line client for Porch.

fn main() {
    println!("porchctl {}", env!("CARGO_PKG_VERSION"));
}
