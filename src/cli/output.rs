//! Command results as JSON for scripts or as aligned text for people.

use serde_json::Value;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Output {
    Json,
    Table,
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

impl Output {
    /// Prints one record: a JSON object, or `key  value` lines.
    pub fn record(self, value: &Value) {
        match (self, value) {
            (Output::Table, Value::Object(map)) => {
                let width = map.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in map {
                    println!("{k:width$}  {}", cell(v));
                }
            }
            _ => println!("{value}"),
        }
    }

    /// Prints records: a JSON array of objects, or a table whose header row names the
    /// `columns` (keys of the objects), upper-cased.
    pub fn rows(self, columns: &[&str], rows: &[Value]) {
        if self == Output::Json {
            println!("{}", Value::Array(rows.to_vec()));
            return;
        }
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| columns.iter().map(|c| cell(&r[*c])).collect())
            .collect();
        let header: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
        let widths: Vec<usize> = (0..columns.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for line in std::iter::once(&header).chain(&cells) {
            let padded: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(text, width)| format!("{text:width$}"))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        }
    }

    /// Prints a plain confirmation.
    pub fn message(self, text: &str) {
        match self {
            Output::Json => println!("{}", serde_json::json!({ "message": text })),
            Output::Table => println!("{text}"),
        }
    }
}
