//! Just enough PromQL to run the crate's documented queries over parsed expositions:
//! selectors with `=` matchers, `== <number>`, `sum(...) [by (...)]`, and `rate`/`increase`
//! over a range vector.
//!
//! A range vector is approximated by two scrapes, `before` and `after`, taken `elapsed`
//! apart: `increase` is the difference of the two values (the later value after a counter
//! reset), `rate` that difference per second. Like Prometheus, a series needs a sample in
//! both scrapes to have a rate at all.

use std::collections::BTreeMap;
use std::time::Duration;

use super::exposition::Exposition;

/// Labels of a result series; selectors keep the metric name as `__name__`, functions and
/// aggregations drop it, as in Prometheus.
pub(crate) type Labels = BTreeMap<String, String>;

/// Two scrapes of the same target.
pub(crate) struct Scrapes<'a> {
    pub(crate) before: &'a Exposition,
    pub(crate) after: &'a Exposition,
    pub(crate) elapsed: Duration,
}

/// Evaluates `query` at the time of `scrapes.after`; results sorted by labels.
pub(crate) fn eval(query: &str, scrapes: &Scrapes<'_>) -> Result<Vec<(Labels, f64)>, String> {
    let mut parser = Parser { text: query, at: 0 };
    let expr = parser.expr()?;
    parser.skip_space();
    if parser.at != query.len() {
        return Err(format!("unexpected {:?}", &query[parser.at..]));
    }
    let mut result = expr.eval(scrapes)?;
    result.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(result)
}

/// Evaluates a query that needs one scrape only.
pub(crate) fn eval_instant(query: &str, scrape: &Exposition) -> Result<Vec<(Labels, f64)>, String> {
    eval(
        query,
        &Scrapes {
            before: scrape,
            after: scrape,
            elapsed: Duration::ZERO,
        },
    )
}

/// Builds a label set from pairs, for comparing results.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

struct Selector {
    name: String,
    matchers: Vec<(String, String)>,
}

impl Selector {
    fn select(&self, scrape: &Exposition) -> Vec<(Labels, f64)> {
        scrape
            .samples
            .iter()
            .filter(|s| {
                s.name == self.name
                    && self
                        .matchers
                        .iter()
                        .all(|(k, v)| s.label(k) == Some(v.as_str()))
            })
            .map(|s| (s.labels.clone(), s.value))
            .collect()
    }
}

enum Func {
    Rate,
    Increase,
}

enum Expr {
    Select(Selector),
    Range(Func, Selector, Duration),
    Sum(Box<Expr>, Option<Vec<String>>),
    Equal(Box<Expr>, f64),
}

impl Expr {
    fn eval(&self, scrapes: &Scrapes<'_>) -> Result<Vec<(Labels, f64)>, String> {
        Ok(match self {
            Expr::Select(selector) => selector
                .select(scrapes.after)
                .into_iter()
                .map(|(mut labels, value)| {
                    labels.insert("__name__".to_owned(), selector.name.clone());
                    (labels, value)
                })
                .collect(),
            Expr::Range(func, selector, range) => {
                if scrapes.elapsed.is_zero() || scrapes.elapsed > *range {
                    return Err(format!(
                        "the two scrapes must be less than the range ({range:?}) apart, and not at the same time"
                    ));
                }
                let before = selector.select(scrapes.before);
                selector
                    .select(scrapes.after)
                    .into_iter()
                    .filter_map(|(labels, now)| {
                        let (_, then) = before.iter().find(|(l, _)| *l == labels)?;
                        let increase = if now >= *then { now - then } else { now };
                        let value = match func {
                            Func::Increase => increase,
                            Func::Rate => increase / scrapes.elapsed.as_secs_f64(),
                        };
                        Some((labels, value))
                    })
                    .collect()
            }
            Expr::Sum(inner, by) => {
                let mut groups: BTreeMap<Labels, f64> = BTreeMap::new();
                for (labels, value) in inner.eval(scrapes)? {
                    let key: Labels = match by {
                        Some(by) => labels.into_iter().filter(|(k, _)| by.contains(k)).collect(),
                        None => Labels::new(),
                    };
                    *groups.entry(key).or_default() += value;
                }
                groups.into_iter().collect()
            }
            Expr::Equal(inner, wanted) => inner
                .eval(scrapes)?
                .into_iter()
                .filter(|(_, value)| value == wanted)
                .collect(),
        })
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.text.len() - trimmed.len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected {token:?} at {:?}", self.rest()))
        }
    }

    fn identifier(&mut self) -> Result<String, String> {
        self.skip_space();
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(self.rest().len());
        if len == 0 {
            return Err(format!("expected a name at {:?}", self.rest()));
        }
        let name = self.rest()[..len].to_owned();
        self.at += len;
        Ok(name)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let expr = self.operand()?;
        if self.eat("==") {
            self.skip_space();
            let len = self
                .rest()
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(self.rest().len());
            let number = self.rest()[..len]
                .parse::<f64>()
                .map_err(|e| format!("number after ==: {e}"))?;
            self.at += len;
            return Ok(Expr::Equal(Box::new(expr), number));
        }
        Ok(expr)
    }

    fn operand(&mut self) -> Result<Expr, String> {
        let name = self.identifier()?;
        match name.as_str() {
            "sum" => {
                self.expect("(")?;
                let inner = self.expr()?;
                self.expect(")")?;
                let by = if self.eat("by") {
                    self.expect("(")?;
                    let mut labels = vec![self.identifier()?];
                    while self.eat(",") {
                        labels.push(self.identifier()?);
                    }
                    self.expect(")")?;
                    Some(labels)
                } else {
                    None
                };
                Ok(Expr::Sum(Box::new(inner), by))
            }
            "rate" | "increase" => {
                let func = if name == "rate" {
                    Func::Rate
                } else {
                    Func::Increase
                };
                self.expect("(")?;
                let metric = self.identifier()?;
                let selector = self.selector(metric)?;
                self.expect("[")?;
                let range = self.duration()?;
                self.expect("]")?;
                self.expect(")")?;
                Ok(Expr::Range(func, selector, range))
            }
            _ => Ok(Expr::Select(self.selector(name)?)),
        }
    }

    fn selector(&mut self, name: String) -> Result<Selector, String> {
        let mut matchers = Vec::new();
        if self.eat("{") && !self.eat("}") {
            loop {
                let label = self.identifier()?;
                self.expect("=\"")?;
                let end = self
                    .rest()
                    .find('"')
                    .ok_or_else(|| "unterminated label value".to_owned())?;
                matchers.push((label, self.rest()[..end].to_owned()));
                self.at += end + 1;
                if self.eat("}") {
                    break;
                }
                self.expect(",")?;
            }
        }
        Ok(Selector { name, matchers })
    }

    fn duration(&mut self) -> Result<Duration, String> {
        self.skip_space();
        let digits = self
            .rest()
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest().len());
        let count: u64 = self.rest()[..digits]
            .parse()
            .map_err(|e| format!("range: {e}"))?;
        self.at += digits;
        let unit = match self.rest().chars().next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            other => return Err(format!("range unit {other:?}")),
        };
        self.at += 1;
        Ok(Duration::from_secs(count * unit))
    }
}
