//! Command results as JSON for scripts or as aligned text for people.

use serde_json::Value;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Output {
    Json,
    Table,
}

impl Output {
    /// Prints one record: a JSON object, or `key  value` lines.
    pub fn record(self, value: &Value) {
        match (self, value) {
            (Output::Table, Value::Object(map)) => {
                let width = map.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in map {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("{k:width$}  {v}");
                }
            }
            _ => println!("{value}"),
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
