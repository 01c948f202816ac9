//! Answers printed for people: aligned columns picked from the API's JSON.

use serde_json::Value;

/// A cell: strings as they are, absent values as `-`, other values as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The status code's name (`0` → `pending`).
pub fn status_name(code: &Value) -> String {
    code.as_i64()
        .and_then(crate::domain::Status::from_code)
        .map_or_else(
            || cell(code),
            |s| s.name(crate::domain::locale::Language::En).into(),
        )
}

/// Rows of `rows` under `columns` (heading, JSON member), left-aligned.
pub fn table(rows: &[Value], columns: &[(&str, &str)]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|(_, member)| match *member {
                    "status" => status_name(&row[*member]),
                    _ => cell(&row[*member]),
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (heading, _))| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([heading.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(columns.iter().map(|(h, _)| *h).collect());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `key  value` lines for the scalar members of `record` (nested lists left out).
pub fn record(record: &Value) -> String {
    let Some(map) = record.as_object() else {
        return cell(record) + "\n";
    };
    let scalars: Vec<(&String, String)> = map
        .iter()
        .filter(|(_, v)| !v.is_array() && !v.is_object())
        .map(|(k, v)| {
            let shown = if k == "status" {
                status_name(v)
            } else {
                cell(v)
            };
            (k, shown)
        })
        .collect();
    let width = scalars.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    scalars
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_align_and_statuses_are_named() {
        let rows = [
            json!({"id": "a-1", "status": 0, "incident_id": "CS1"}),
            json!({"id": "b-22", "status": 5}),
        ];
        let text = table(
            &rows,
            &[
                ("ID", "id"),
                ("STATUS", "status"),
                ("INCIDENT", "incident_id"),
            ],
        );
        assert_eq!(
            text,
            "ID    STATUS    INCIDENT\na-1   pending   CS1\nb-22  canceled  -\n"
        );
        assert_eq!(
            record(&json!({"id": "x", "status": 1, "list": [1]})),
            "id      x\nstatus  authorized\n"
        );
    }
}
