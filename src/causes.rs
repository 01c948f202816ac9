//! An error with every cause beneath it on one line (`database unavailable: db error:
//! connection refused`), for logs and for operators.

use std::error::Error;
use std::fmt;

/// Displays the error, then each cause whose text the line does not hold already
/// (drivers often repeat their cause in their own message).
pub struct Causes<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Causes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = c.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_once() {
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(Causes(&e).to_string(), "outer: disk on fire");
        let e = crate::store::StoreError::Unavailable(crate::store::Failed::cause(
            "cannot create /x",
            std::io::Error::other("read-only file system"),
        ));
        assert_eq!(
            Causes(&e).to_string(),
            "database unavailable: cannot create /x: read-only file system"
        );
    }
}
