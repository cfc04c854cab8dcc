//! What a host caches per snapshot, as JSON text built by hand (the wasm module has
//! no JSON serializer): one row per flag, and the attribute table with what each
//! attribute's operators need and the literals they compare with.

use crate::engine::compiled::{Flag, FlagId, Snapshot};
use crate::jsontext::{push_string, push_u64};

/// A flag's row: `{"key", "type", "variants": [[name, value]...], "rules": [ids],
/// "metadata", "attributes": [ids], "digest"}`. Values and metadata are the
/// snapshot's JSON text as is; `attributes` are the attribute ids one evaluation of
/// the flag can read; `digest` changes when the flag's definition does.
pub fn flag_row(snapshot: &Snapshot, id: FlagId, flag: &Flag, out: &mut String) {
    out.push_str("{\"key\":");
    push_string(out, &flag.key);
    out.push_str(",\"type\":\"");
    out.push_str(flag.value_type.name());
    out.push_str("\",\"variants\":[");
    for (i, v) in flag.variants.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        push_string(out, &v.name);
        out.push(',');
        out.push_str(&v.value);
        out.push(']');
    }
    out.push_str("],\"rules\":[");
    for i in 0..flag.rule_count() as u32 {
        if i > 0 {
            out.push(',');
        }
        push_string(out, flag.rule_id(i).unwrap_or(""));
    }
    out.push_str("],\"metadata\":");
    out.push_str(&flag.metadata);
    out.push_str(",\"attributes\":[");
    for (i, a) in snapshot.flag_attributes(id).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_u64(out, u64::from(*a));
    }
    out.push_str("],\"digest\":\"");
    let digest = snapshot.flag_digest(id);
    for shift in (0..16).rev() {
        let nibble = (digest >> (shift * 4)) & 15;
        out.push(char::from_digit(nibble as u32, 16).unwrap_or('0'));
    }
    out.push_str("\"}");
}

/// Every flag's row, as a JSON array.
pub fn flag_table(snapshot: &Snapshot) -> String {
    let mut out = String::from("[");
    for (i, flag) in snapshot.flags().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        flag_row(snapshot, i as FlagId, flag, &mut out);
    }
    out.push(']');
    out
}

/// The attribute table: `[{"path", "text", "number", "literals": [...]}]` by id:
/// whether a string value's text must be handed over (else its literal id is
/// enough), whether its numeric value is read, and the literals its equality
/// operators compare with (a string's literal id is its index here).
pub fn attribute_table(snapshot: &Snapshot) -> String {
    let mut out = String::from("[");
    for (i, a) in snapshot.attributes().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"path\":");
        push_string(&mut out, &a.path);
        out.push_str(",\"text\":");
        out.push_str(if a.needs.text_kept() { "true" } else { "false" });
        out.push_str(",\"number\":");
        out.push_str(if a.needs.number { "true" } else { "false" });
        out.push_str(",\"unit\":");
        out.push_str(if a.needs.unit { "true" } else { "false" });
        out.push_str(",\"lower\":");
        out.push_str(if a.needs.lower { "true" } else { "false" });
        out.push_str(",\"jsNumber\":");
        out.push_str(if a.needs.js_number { "true" } else { "false" });
        for (name, literals) in [("literals", &a.literals), ("folded", &a.folded)] {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":[");
            for (j, lit) in literals.names().iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_string(&mut out, lit);
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn rows_and_attributes_are_json() {
        let doc = json!({"flags": [{"key": "f\"1", "variants": {"on": {"x": [1]}, "off": {}},
            "off_variant": "off", "metadata": {"team": "a"},
            "rules": [{"id": "r", "when": {"attr": "plan", "op": "in", "values": ["pro", 2]},
                       "serve": {"variant": "on"}}],
            "fallthrough": {"variant": "off"}}]});
        let snap = Snapshot::from_json(doc.to_string().as_bytes()).unwrap();
        let rows: Value = serde_json::from_str(&flag_table(&snap)).unwrap();
        assert_eq!(rows[0]["key"], "f\"1");
        assert_eq!(rows[0]["type"], "object");
        assert_eq!(
            rows[0]["variants"],
            json!([["off", {}], ["on", {"x": [1]}]])
        );
        assert_eq!(rows[0]["rules"], json!(["r"]));
        assert_eq!(rows[0]["metadata"], json!({"team": "a"}));
        assert_eq!(rows[0]["attributes"], json!([0, 1]));
        let attrs: Value = serde_json::from_str(&attribute_table(&snap)).unwrap();
        assert_eq!(
            attrs,
            json!([
                {"path": "targetingKey", "text": true, "number": false, "unit": true, "lower": false, "jsNumber": false, "literals": [], "folded": []},
                {"path": "plan", "text": false, "number": true, "unit": false, "lower": false, "jsNumber": false, "literals": ["pro"], "folded": []}
            ])
        );
    }
}
