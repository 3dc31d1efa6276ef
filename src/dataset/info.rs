//! `b2frame info --json DATASET`: rows, version and, per column, its Arrow type,
//! null count and stored buffers (role, path, typesize, sizes), children nested
//! the same way; dictionary-encoded columns add `"encoding": "dictionary"` and
//! their distinct values as `dictionary`.

use arrow_schema::{DataType, Field};
use serde_json::{json, Value};

use super::Dataset;
use crate::arrow::{ArrayNode, Encoding};

/// The names of a type's children, in [`ArrayNode::children`] order.
fn child_fields(dt: &DataType) -> Vec<Field> {
    match dt {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => vec![f.as_ref().clone()],
        DataType::Struct(fs) => fs.iter().map(|f| f.as_ref().clone()).collect(),
        DataType::Dictionary(_, v) => vec![Field::new("values", v.as_ref().clone(), true)],
        _ => Vec::new(),
    }
}

/// One column (or child) across all fragments.
fn column(field: &Field, nodes: &[&ArrayNode]) -> Value {
    let null_count: u64 = nodes.iter().map(|n| n.null_count).sum();
    let length: u64 = nodes.iter().map(|n| n.length).sum();
    let buffers: Vec<Value> = nodes
        .iter()
        .flat_map(|n| n.buffers.iter())
        .map(|b| {
            json!({
                "role": b.role.name(),
                "path": b.path,
                "typesize": b.typesize,
                "nbytes": b.nbytes,
                "cbytes": b.cbytes,
            })
        })
        .collect();
    let children: Vec<Value> = child_fields(field.data_type())
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let kids: Vec<&ArrayNode> = nodes.iter().filter_map(|n| n.children.get(i)).collect();
            column(f, &kids)
        })
        .collect();
    let mut v = json!({
        "name": field.name(),
        "type": field.data_type().to_string(),
        "nullable": field.is_nullable(),
        "length": length,
        "null_count": null_count,
        "buffers": buffers,
    });
    if !children.is_empty() {
        v["children"] = Value::Array(children);
    }
    // Dictionary-encoded fragments: their keys are in `buffers`, the distinct
    // values under `dictionary`.
    let dict: Vec<&ArrayNode> = nodes
        .iter()
        .filter(|n| {
            matches!(
                n.encoding,
                Some(Encoding::Dictionary | Encoding::VarSizeDictionary)
            )
        })
        .filter_map(|n| n.children.first())
        .collect();
    if !dict.is_empty() {
        v["encoding"] = json!("dictionary");
        // View columns keep their distinct values as Utf8/Binary.
        let values_type = match field.data_type() {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            t => t.clone(),
        };
        let f = Field::new("values", values_type, false);
        v["dictionary"] = column(&f, &dict);
    }
    v
}

impl Dataset {
    /// The dataset's description as JSON (see `b2frame info --json`).
    pub fn info_json(&self) -> Value {
        let m = self.manifest();
        let schema = self.schema();
        let columns: Vec<Value> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let nodes: Vec<&ArrayNode> = m
                    .fragments
                    .iter()
                    .filter_map(|fr| fr.columns.get(i))
                    .collect();
                column(f, &nodes)
            })
            .collect();
        let nbytes: u64 = m
            .fragments
            .iter()
            .flat_map(|f| f.columns.iter().flat_map(|c| c.all_buffers()))
            .map(|b| b.nbytes)
            .sum();
        let cbytes: u64 = m
            .fragments
            .iter()
            .flat_map(|f| f.columns.iter().flat_map(|c| c.all_buffers()))
            .map(|b| b.cbytes)
            .sum();
        json!({
            "url": self.store().url(),
            "rows": m.rows,
            "version": m.version,
            "fragments": m.fragments.len(),
            "nbytes": nbytes,
            "cbytes": cbytes,
            "columns": columns,
        })
    }
}
