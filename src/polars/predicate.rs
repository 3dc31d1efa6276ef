//! Translation of a Polars filter expression into a b2frame [`Predicate`] that prunes
//! chunks by their statistics. Only what is provably equivalent is translated: a
//! conjunct that is not understood is dropped from an `and` (pruning less), and makes
//! an `or` untranslatable. The scan still applies the full Polars expression to the
//! rows it reads, so pruning never changes results.

use ::polars::prelude::{
    AnyValue, BooleanFunction, Expr, FunctionExpr, LiteralValue, Operator, TimeUnit,
};
use arrow_schema::{DataType as ArrowType, Schema, TimeUnit as ArrowUnit};

use crate::dataset::{CmpOp, Predicate, StatValue};

/// The pruning predicate implied by `expr` over a dataset of `schema`, if any.
pub(crate) fn to_predicate(expr: &Expr, schema: &Schema) -> Option<Predicate> {
    match expr {
        Expr::BinaryExpr { left, op, right } => match op {
            Operator::And | Operator::LogicalAnd => {
                let parts: Vec<Predicate> = [left, right]
                    .into_iter()
                    .filter_map(|e| to_predicate(e, schema))
                    .collect();
                match parts.len() {
                    0 => None,
                    1 => parts.into_iter().next(),
                    _ => Some(Predicate::And(parts)),
                }
            }
            Operator::Or | Operator::LogicalOr => Some(Predicate::Or(vec![
                to_predicate(left, schema)?,
                to_predicate(right, schema)?,
            ])),
            _ => {
                let op = cmp_op(*op)?;
                match (left.as_ref(), right.as_ref()) {
                    (c, Expr::Literal(v)) => compare(schema, column_of(c, schema)?, op, v),
                    (Expr::Literal(v), c) => compare(schema, column_of(c, schema)?, flip(op), v),
                    _ => None,
                }
            }
        },
        Expr::Function { input, function } => match (function, input.as_slice()) {
            (FunctionExpr::Boolean(BooleanFunction::IsNull), [Expr::Column(c)]) => {
                prunable(schema, c)?;
                Some(Predicate::IsNull(c.to_string()))
            }
            (FunctionExpr::Boolean(BooleanFunction::IsNotNull), [Expr::Column(c)]) => {
                prunable(schema, c)?;
                Some(Predicate::IsNotNull(c.to_string()))
            }
            _ => None,
        },
        _ => None,
    }
}

fn cmp_op(op: Operator) -> Option<CmpOp> {
    Some(match op {
        Operator::Eq => CmpOp::Eq,
        Operator::NotEq => CmpOp::NotEq,
        Operator::Lt => CmpOp::Lt,
        Operator::LtEq => CmpOp::LtEq,
        Operator::Gt => CmpOp::Gt,
        Operator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}

/// `lit op col` as `col op' lit`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        other => other,
    }
}

/// The column's type if its statistics can prune (plain values, not dictionary keys).
fn prunable<'a>(schema: &'a Schema, column: &str) -> Option<&'a ArrowType> {
    let dt = schema.field_with_name(column).ok()?.data_type();
    use ArrowType as A;
    matches!(
        dt,
        A::Boolean
            | A::Int8
            | A::Int16
            | A::Int32
            | A::Int64
            | A::UInt8
            | A::UInt16
            | A::UInt32
            | A::UInt64
            | A::Float32
            | A::Float64
            | A::Utf8
            | A::LargeUtf8
            | A::Utf8View
            | A::Date32
            | A::Timestamp(_, _)
            | A::Duration(_)
    )
    .then_some(dt)
}

/// A column, or a cast of one that keeps every value's order, and whether it is
/// an integer column cast to Float64 (as Polars casts it to compare it with a
/// float literal): a float column cast to Float64, a signed or narrow unsigned
/// integer column cast to Int64.
fn column_of<'a>(e: &'a Expr, schema: &Schema) -> Option<(&'a str, bool)> {
    use ::polars::prelude::{DataType as PlType, DataTypeExpr};
    use ArrowType as A;
    match e {
        Expr::Column(c) => Some((c.as_str(), false)),
        Expr::Cast { expr, dtype, .. } => {
            let Expr::Column(c) = expr.as_ref() else {
                return None;
            };
            let DataTypeExpr::Literal(target) = dtype else {
                return None;
            };
            let dt = schema.field_with_name(c).ok()?.data_type();
            match (target, dt) {
                (PlType::Float64, dt) if dt.is_integer() => Some((c.as_str(), true)),
                (PlType::Float64, A::Float32 | A::Float64) => Some((c.as_str(), false)),
                (PlType::Int64, A::Int8 | A::Int16 | A::Int32 | A::Int64)
                | (PlType::Int64, A::UInt8 | A::UInt16 | A::UInt32) => Some((c.as_str(), false)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn compare(
    schema: &Schema,
    (column, as_float): (&str, bool),
    op: CmpOp,
    lit: &LiteralValue,
) -> Option<Predicate> {
    let dt = prunable(schema, column)?;
    if as_float {
        // The literal as a float statistic: what Polars compares the cast with.
        let StatValue::Float(f) = stat_value(&ArrowType::Float64, lit)? else {
            return None;
        };
        let (op, bound) = int_cmp_of_float(op, f)?;
        return Some(Predicate::cmp(column, op, StatValue::Int(bound)));
    }
    let value = stat_value(dt, lit)?;
    Some(Predicate::cmp(column, op, value))
}

/// The comparison of an integer `x` equivalent to `(x as f64) op f`, if any.
/// Exact for `|f| <= 2**53`: every integer there is a float, and rounding a
/// larger integer to a float keeps it on the same side of `f`.
fn int_cmp_of_float(op: CmpOp, f: f64) -> Option<(CmpOp, i64)> {
    if !f.is_finite() || f.abs() > 9_007_199_254_740_992.0 {
        return None;
    }
    // Exact conversions: |f| <= 2**53.
    let (lo, hi) = (f.floor() as i64, f.ceil() as i64);
    Some(match op {
        CmpOp::Lt => (CmpOp::Lt, hi),
        CmpOp::LtEq => (CmpOp::LtEq, lo),
        CmpOp::Gt => (CmpOp::Gt, lo),
        CmpOp::GtEq => (CmpOp::GtEq, hi),
        // Never equal to an integer: `==` matches nothing, `!=` everything.
        CmpOp::Eq | CmpOp::NotEq if lo != hi => return None,
        other => (other, lo),
    })
}

fn same_unit(a: &ArrowUnit, b: &TimeUnit) -> bool {
    matches!(
        (a, b),
        (ArrowUnit::Millisecond, TimeUnit::Milliseconds)
            | (ArrowUnit::Microsecond, TimeUnit::Microseconds)
            | (ArrowUnit::Nanosecond, TimeUnit::Nanoseconds)
    )
}

/// The literal as a statistic comparable with the column's (same kind and unit), if it is.
fn stat_value(dt: &ArrowType, lit: &LiteralValue) -> Option<StatValue> {
    use ArrowType as A;
    let int_col = dt.is_integer();
    let float_col = matches!(dt, A::Float32 | A::Float64);
    let exact_f64 =
        |v: i128| (v.unsigned_abs() <= 1u128 << 53).then_some(StatValue::Float(v as f64));
    let from_int = |v: i128| -> Option<StatValue> {
        if int_col {
            if let Ok(i) = i64::try_from(v) {
                Some(StatValue::Int(i))
            } else {
                u64::try_from(v).ok().map(StatValue::UInt)
            }
        } else if float_col {
            exact_f64(v)
        } else {
            None
        }
    };
    match lit {
        LiteralValue::Dyn(d) => match d {
            ::polars_plan::plans::DynLiteralValue::Int(v) => from_int(*v),
            ::polars_plan::plans::DynLiteralValue::Float(f) if float_col => {
                Some(StatValue::Float(*f))
            }
            ::polars_plan::plans::DynLiteralValue::Str(s) if is_string(dt) => {
                Some(StatValue::Str(s.to_string()))
            }
            _ => None,
        },
        LiteralValue::Scalar(s) => match s.value() {
            AnyValue::Boolean(b) if matches!(dt, A::Boolean) => Some(StatValue::Bool(*b)),
            AnyValue::Int8(v) => from_int((*v).into()),
            AnyValue::Int16(v) => from_int((*v).into()),
            AnyValue::Int32(v) => from_int((*v).into()),
            AnyValue::Int64(v) => from_int((*v).into()),
            AnyValue::UInt8(v) => from_int((*v).into()),
            AnyValue::UInt16(v) => from_int((*v).into()),
            AnyValue::UInt32(v) => from_int((*v).into()),
            AnyValue::UInt64(v) => from_int((*v).into()),
            AnyValue::Float32(f) if float_col => Some(StatValue::Float((*f).into())),
            AnyValue::Float64(f) if float_col => Some(StatValue::Float(*f)),
            AnyValue::String(s) if is_string(dt) => Some(StatValue::Str(s.to_string())),
            AnyValue::StringOwned(s) if is_string(dt) => Some(StatValue::Str(s.to_string())),
            AnyValue::Date(d) if matches!(dt, A::Date32) => Some(StatValue::Int((*d).into())),
            AnyValue::Datetime(v, u, _) | AnyValue::DatetimeOwned(v, u, _) => match dt {
                A::Timestamp(cu, _) if same_unit(cu, u) => Some(StatValue::Int(*v)),
                _ => None,
            },
            AnyValue::Duration(v, u) => match dt {
                A::Duration(cu) if same_unit(cu, u) => Some(StatValue::Int(*v)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn is_string(dt: &ArrowType) -> bool {
    matches!(
        dt,
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::polars::prelude::{col, lit};
    use arrow_schema::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("x", ArrowType::Int64, true),
            Field::new("f", ArrowType::Float64, true),
            Field::new("s", ArrowType::Utf8, true),
            Field::new(
                "d",
                ArrowType::Dictionary(Box::new(ArrowType::UInt32), Box::new(ArrowType::Utf8)),
                true,
            ),
        ])
    }

    #[test]
    fn comparisons_and_conjunctions() {
        let s = schema();
        let p = to_predicate(&col("x").gt(lit(5)).and(col("s").eq(lit("UA"))), &s);
        assert_eq!(
            p,
            Some(Predicate::And(vec![
                Predicate::cmp("x", CmpOp::Gt, 5i64),
                Predicate::cmp("s", CmpOp::Eq, "UA"),
            ]))
        );
        // lit < col flips; an untranslatable conjunct is dropped from an `and`.
        let p = to_predicate(&lit(3).lt(col("x")).and(col("x").abs().gt(lit(1))), &s);
        assert_eq!(p, Some(Predicate::cmp("x", CmpOp::Gt, 3i64)));
        // ... but spoils an `or`.
        assert_eq!(
            to_predicate(&col("x").eq(lit(1)).or(col("x").abs().eq(lit(2))), &s),
            None
        );
        assert_eq!(
            to_predicate(&col("f").is_null(), &s),
            Some(Predicate::IsNull("f".into()))
        );
    }

    #[test]
    fn mismatched_kinds_are_not_pruned() {
        let s = schema();
        // A string literal on an integer column, a dictionary column, an unknown column.
        assert_eq!(to_predicate(&col("x").eq(lit("5")), &s), None);
        assert_eq!(to_predicate(&col("d").eq(lit("UA")), &s), None);
        assert_eq!(to_predicate(&col("nope").eq(lit(1)), &s), None);
        // Floats compare with integer literals exactly representable as f64.
        assert_eq!(
            to_predicate(&col("f").lt(lit(2)), &s),
            Some(Predicate::cmp("f", CmpOp::Lt, StatValue::Float(2.0)))
        );
    }

    /// Polars casts an integer column to Float64 to compare it with a float
    /// literal: the bound carries over to integers.
    #[test]
    fn integer_columns_cast_to_float_keep_an_integer_bound() {
        use ::polars::prelude::DataType as PlType;
        let s = schema();
        let x = || col("x").cast(PlType::Float64);
        let t = |e: Expr| to_predicate(&e, &s);
        assert_eq!(
            t(x().lt(lit(1234.5))),
            Some(Predicate::cmp("x", CmpOp::Lt, 1235i64))
        );
        assert_eq!(
            t(x().lt_eq(lit(1234.5))),
            Some(Predicate::cmp("x", CmpOp::LtEq, 1234i64))
        );
        assert_eq!(
            t(x().gt(lit(1234.5))),
            Some(Predicate::cmp("x", CmpOp::Gt, 1234i64))
        );
        assert_eq!(
            t(x().gt_eq(lit(-0.5))),
            Some(Predicate::cmp("x", CmpOp::GtEq, 0i64))
        );
        assert_eq!(
            t(x().eq(lit(7.0))),
            Some(Predicate::cmp("x", CmpOp::Eq, 7i64))
        );
        assert_eq!(t(x().eq(lit(7.5))), None);
        assert_eq!(
            t(lit(1234.5).gt(x())),
            Some(Predicate::cmp("x", CmpOp::Lt, 1235i64))
        );
        assert_eq!(t(x().lt(lit(2f64.powi(60)))), None);
        assert_eq!(t(x().lt(lit(f64::NAN))), None);
        assert_eq!(t(col("x").cast(PlType::Float32).lt(lit(3.0))), None);
        assert_eq!(
            t(col("f").cast(PlType::Float64).lt(lit(2.5))),
            Some(Predicate::cmp("f", CmpOp::Lt, StatValue::Float(2.5)))
        );
    }
}
