//! A small parser of the Prometheus text format (version 0.0.4): `# HELP`, `# TYPE` and
//! `name{label="value",...} value` lines. Strict: anything else is an error, so a malformed
//! exposition fails the test that renders it.

use std::collections::{BTreeMap, HashMap};

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

impl Sample {
    pub(crate) fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

/// A parsed exposition.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub(crate) help: HashMap<String, String>,
    pub(crate) types: HashMap<String, String>,
    pub(crate) samples: Vec<Sample>,
}

impl Exposition {
    pub(crate) fn parse(text: &str) -> Result<Exposition, String> {
        let mut exposition = Exposition::default();
        for (number, line) in text.lines().enumerate() {
            let at = |message: &str| format!("line {}: {message}: {line:?}", number + 1);
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("HELP without text"))?;
                check_name(name).map_err(|e| at(&e))?;
                if exposition
                    .help
                    .insert(name.to_owned(), help.to_owned())
                    .is_some()
                {
                    return Err(at("second HELP for a metric"));
                }
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("TYPE without type"))?;
                check_name(name).map_err(|e| at(&e))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(at("unknown type"));
                }
                if exposition
                    .types
                    .insert(name.to_owned(), kind.to_owned())
                    .is_some()
                {
                    return Err(at("second TYPE for a metric"));
                }
            } else if line.starts_with('#') {
                return Err(at("unexpected comment"));
            } else {
                let sample = parse_sample(line).map_err(|e| at(&e))?;
                if !exposition.types.contains_key(&sample.name) {
                    return Err(at("sample before its TYPE line"));
                }
                if exposition
                    .samples
                    .iter()
                    .any(|s| s.name == sample.name && s.labels == sample.labels)
                {
                    return Err(at("duplicate series"));
                }
                exposition.samples.push(sample);
            }
        }
        Ok(exposition)
    }

    /// The samples of metric `name` whose labels include every `(label, value)` of `matching`.
    pub(crate) fn series(&self, name: &str, matching: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.name == name && matching.iter().all(|(k, v)| s.label(k) == Some(v)))
            .collect()
    }

    /// The value of the one series of `name` with exactly these labels.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    if valid_start && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        Ok(())
    } else {
        Err(format!("invalid name {name:?}"))
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| "sample without value".to_owned())?;
    let name = &line[..name_end];
    check_name(name)?;
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = after_brace;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = rest
                .split_once("=\"")
                .ok_or_else(|| "label without =\"".to_owned())?;
            check_name(label)?;
            let (value, after) = unescape_until_quote(after)?;
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label {label} given twice"));
            }
            rest = after.strip_prefix(',').unwrap_or(after);
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or_else(|| "no space before the value".to_owned())?;
    // A timestamp may follow; this exporter writes none, so one is an error here.
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        other => other
            .parse::<f64>()
            .map_err(|e| format!("value {other:?}: {e}"))?,
    };
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Reads a label value up to its closing quote, undoing `\\`, `\"` and `\n`.
fn unescape_until_quote(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &text[index + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => return Err(format!("bad escape {other:?}")),
            },
            c => value.push(c),
        }
    }
    Err("unterminated label value".to_owned())
}
