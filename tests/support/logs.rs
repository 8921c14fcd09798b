//! What the library logs while a piece of a test runs.

use std::sync::{Arc, Mutex};

/// Collects what is logged at INFO and above while `f` runs (this thread's subscriber only).
pub async fn logs_of<F: std::future::Future<Output = ()>>(f: F) -> String {
    with_logs(f).await.1
}

/// What `f` returns, with what is logged at INFO and above while it runs.
pub async fn with_logs<T, F: std::future::Future<Output = T>>(f: F) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (out, text)
}
