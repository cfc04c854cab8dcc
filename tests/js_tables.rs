//! `pkg/tables.js` is generated from the engine's tables: it must be what
//! `vexil::session::js_tables::js_tables()` writes today.

use std::path::Path;

#[test]
fn pkg_tables_js_is_generated_from_the_engine() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pkg/tables.js");
    let want = vexil::session::js_tables::js_tables();
    if std::env::var_os("VEXIL_WRITE_TABLES").is_some() {
        std::fs::write(&path, &want).expect("write pkg/tables.js");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "pkg/tables.js is out of date with the engine: run `VEXIL_WRITE_TABLES=1 cargo test --test js_tables`"
    );
}
