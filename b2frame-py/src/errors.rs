//! The Python exception hierarchy and the mapping of [`b2frame::Error`] onto it.
//!
//! ```text
//! B2FrameError
//! ├── StoreError            I/O and object-store failures
//! │   └── NotFoundError     no dataset, missing object or file
//! ├── CorruptError          damaged bytes (chunks, frames, manifests)
//! │   └── LimitExceededError  an untrusted size above a limit
//! ├── SchemaError           schema mismatch on append, Arrow type/data errors
//! ├── UnsupportedError      valid data using a feature b2frame lacks
//! ├── InvalidArgumentError  a caller-supplied argument out of range
//! ├── AlreadyExistsError    mode="create" over an existing dataset
//! └── ConflictError         a concurrent commit could not be redone
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};

use b2frame::error::DatasetErrorKind;
use b2frame::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    b2frame,
    B2FrameError,
    PyException,
    "Base class of every error raised by b2frame."
);
create_exception!(
    b2frame,
    StoreError,
    B2FrameError,
    "An I/O or object-store failure (permission denied, server down, bad credentials)."
);
create_exception!(
    b2frame,
    NotFoundError,
    StoreError,
    "No dataset, file or object at the given location."
);
create_exception!(
    b2frame,
    CorruptError,
    B2FrameError,
    "The bytes are not valid b2frame/Blosc2 data (truncated or damaged)."
);
create_exception!(
    b2frame,
    LimitExceededError,
    CorruptError,
    "An untrusted size in the data exceeds a configured limit."
);
create_exception!(
    b2frame,
    SchemaError,
    B2FrameError,
    "Schemas differ (append), or Arrow data or types are invalid."
);
create_exception!(
    b2frame,
    UnsupportedError,
    B2FrameError,
    "Valid data that uses a feature or type b2frame does not implement."
);
create_exception!(
    b2frame,
    InvalidArgumentError,
    B2FrameError,
    "A caller-supplied argument is invalid (unknown column, bad URL, rows out of range)."
);
create_exception!(
    b2frame,
    AlreadyExistsError,
    B2FrameError,
    "A dataset already exists where mode='create' was asked."
);
create_exception!(
    b2frame,
    ConflictError,
    B2FrameError,
    "Another writer committed the same version and the commit could not be redone."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("B2FrameError", py.get_type::<B2FrameError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    m.add("LimitExceededError", py.get_type::<LimitExceededError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add(
        "InvalidArgumentError",
        py.get_type::<InvalidArgumentError>(),
    )?;
    m.add("AlreadyExistsError", py.get_type::<AlreadyExistsError>())?;
    m.add("ConflictError", py.get_type::<ConflictError>())?;
    Ok(())
}

/// The Python exception for a core error, carrying its message.
pub(crate) fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    if e.is_not_found() {
        return NotFoundError::new_err(msg);
    }
    match e {
        Error::Corrupt { .. } => CorruptError::new_err(msg),
        Error::LimitExceeded(_) => LimitExceededError::new_err(msg),
        Error::Unsupported { .. } => UnsupportedError::new_err(msg),
        Error::InvalidArgument { .. } => InvalidArgumentError::new_err(msg),
        Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => NotFoundError::new_err(msg),
        Error::Io(_) => StoreError::new_err(msg),
        Error::Store(_) => StoreError::new_err(msg),
        Error::Arrow(a) => arrow_to_py(a),
        Error::Dataset { kind, .. } => match kind {
            DatasetErrorKind::NotFound | DatasetErrorKind::Missing => NotFoundError::new_err(msg),
            DatasetErrorKind::AlreadyExists => AlreadyExistsError::new_err(msg),
            DatasetErrorKind::Corrupt => CorruptError::new_err(msg),
            DatasetErrorKind::SchemaMismatch => SchemaError::new_err(msg),
            DatasetErrorKind::Conflict => ConflictError::new_err(msg),
            _ => B2FrameError::new_err(msg),
        },
        _ => B2FrameError::new_err(msg),
    }
}

/// An Arrow error, unwrapping a b2frame error carried inside it.
pub(crate) fn arrow_to_py(e: arrow_schema::ArrowError) -> PyErr {
    match b2frame::dataset::unwrap_arrow_error(e) {
        Error::Arrow(a) => match a {
            arrow_schema::ArrowError::IoError(m, _) => StoreError::new_err(m),
            other => SchemaError::new_err(format!("arrow: {other}")),
        },
        other => to_py(other),
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// Runs `f` with the GIL released, turning a panic into `B2FrameError`.
pub(crate) fn nogil<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: Send + FnOnce() -> PyResult<T>,
    T: Send,
{
    py.detach(|| {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
            Err(B2FrameError::new_err(format!(
                "internal error (a bug in b2frame, please report it): {}",
                panic_message(p.as_ref())
            )))
        })
    })
}

/// Shorthand: a core result as a Python result.
pub(crate) trait IntoPy<T> {
    /// Maps the error with [`to_py`].
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for b2frame::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
