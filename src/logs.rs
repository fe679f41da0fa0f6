//! The log filter. Whatever `RELAIS_LOG` asks for, the WebSocket and HTTP
//! libraries' own records never reach the log: at trace level they print every
//! frame (a youth's words, session and console tokens, receipts) and every header.

use tracing_subscriber::EnvFilter;

/// Targets always off (prefixes of their modules' paths).
pub(crate) const SILENCED: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "axum",
    "tower_http",
    "reqwest",
    "want",
    "mio",
];

/// The filter for a `RELAIS_LOG` value (`None`: `info`): its directives, less any
/// that names a silenced library, then each silenced library off.
pub(crate) fn filter(spec: Option<&str>) -> EnvFilter {
    let mut kept: Vec<&str> = spec
        .unwrap_or("info")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|directive| {
            let target = directive.split(['=', '[']).next().unwrap_or("");
            !SILENCED
                .iter()
                .any(|s| target == *s || target.starts_with(&format!("{s}::")))
        })
        .collect();
    if kept.is_empty() {
        kept.push("info");
    }
    let off: Vec<String> = SILENCED.iter().map(|s| format!("{s}=off")).collect();
    let spec = format!("{},{}", kept.join(","), off.join(","));
    EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(format!("info,{}", off.join(","))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_stay_off_whatever_is_asked() {
        let shown = filter(Some("trace,tungstenite=trace,hyper::proto=trace")).to_string();
        assert!(shown.contains("tungstenite=off"), "{shown}");
        assert!(!shown.contains("tungstenite=trace"), "{shown}");
        assert!(!shown.contains("hyper::proto=trace"), "{shown}");
        assert!(shown.contains("trace"), "{shown}");
    }
}
