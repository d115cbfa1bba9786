//! Test support: a parser of the Prometheus text format and a little PromQL over it.

pub(crate) mod exposition;
pub(crate) mod promql;
