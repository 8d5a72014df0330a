//! Rebuilds the crate when a translation file changes: `rust_i18n::i18n!`
//! reads `src/locales/*.yml` at compile time but cargo does not know it.

fn main() {
    println!("cargo:rerun-if-changed=src/locales");
    println!("cargo:rerun-if-changed=themes");
}
