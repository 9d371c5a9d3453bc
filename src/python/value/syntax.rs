//! What the interpreter reads of the syntax tree besides values: the expression a name is
//! bound to in literal evaluation ([`Env`]), and the pieces of f-strings.

use ruff_python_ast::{self as ast, Expr};

/// Resolves names to the expression they are bound to (exactly once), for [`eval`].
pub trait Env<'a> {
    /// The single value bound to `name` as seen from the place of `name`, if known.
    fn lookup(&self, name: &ast::ExprName) -> Option<&'a Expr>;
}

/// An environment that knows no names.
pub struct NoEnv;

impl<'a> Env<'a> for NoEnv {
    fn lookup(&self, _name: &ast::ExprName) -> Option<&'a Expr> {
        None
    }
}

/// One piece of an f-string.
pub enum FStringPart<'a> {
    /// Literal text.
    Literal(&'a str),
    /// `{expression!conversion:format_spec}`.
    Interpolation(&'a ast::InterpolatedElement),
}

/// Walk the pieces of an f-string (implicitly concatenated parts included) in order.
pub fn fstring_parts<'a>(f: &'a ast::ExprFString, each: &mut dyn FnMut(FStringPart<'a>)) {
    for part in f.value.iter() {
        match part {
            ast::FStringPart::Literal(l) => each(FStringPart::Literal(&l.value)),
            ast::FStringPart::FString(fs) => {
                for el in fs.elements.iter() {
                    match el {
                        ast::InterpolatedStringElement::Literal(l) => {
                            each(FStringPart::Literal(&l.value))
                        }
                        ast::InterpolatedStringElement::Interpolation(i) => {
                            each(FStringPart::Interpolation(i))
                        }
                    }
                }
            }
        }
    }
}
