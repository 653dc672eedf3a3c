//! Multipart bodies, byte-exact: an admin [`Upload`] (file, note, expiration) and a
//! [`Multipart`] builder for the bodies browsers and curl send — and the broken ones they
//! do not.

use super::data::in_days;
use super::http::query_encode;

/// An admin upload: one file part, optional note, expiration in the query string.
#[derive(Clone)]
pub struct Upload {
    pub data: Vec<u8>,
    pub filename: String,
    pub content_type: Option<String>,
    pub note: Option<String>,
    pub expiration: Option<String>,
}

impl Upload {
    /// `data` named `filename`, `application/octet-stream`, expiring in 30 days, no note.
    pub fn new(data: &[u8], filename: &str) -> Self {
        Upload {
            data: data.to_vec(),
            filename: filename.to_owned(),
            content_type: Some("application/octet-stream".to_owned()),
            note: None,
            expiration: Some(in_days(30)),
        }
    }

    pub fn content_type(mut self, ct: Option<&str>) -> Self {
        self.content_type = ct.map(str::to_owned);
        self
    }

    pub fn note(mut self, n: &str) -> Self {
        self.note = Some(n.to_owned());
        self
    }

    pub fn expiration(mut self, e: Option<&str>) -> Self {
        self.expiration = e.map(str::to_owned);
        self
    }

    /// Where it is posted: `/api/entry`, with `?expiration=` when it has one.
    pub fn path(&self) -> String {
        match &self.expiration {
            Some(e) => format!("/api/entry?expiration={}", query_encode(e)),
            None => "/api/entry".to_owned(),
        }
    }

    /// `(Content-Type header, body)`.
    pub fn multipart(&self) -> (String, Vec<u8>) {
        let mut m = Multipart::new();
        if let Some(n) = &self.note {
            m.text("note", n);
        }
        m.file(
            "file",
            &self.filename,
            self.content_type.as_deref(),
            &self.data,
        );
        m.finish()
    }
}

/// A hand-built `multipart/form-data` body, byte-exact, with a fixed boundary.
pub struct Multipart {
    pub boundary: String,
    pub body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Multipart {
            boundary: "----picoshare-it-boundary-7MA4YWxkTrZu0gW".to_owned(),
            body: Vec::new(),
        }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .as_bytes(),
        );
        self
    }

    /// Headers of a file part, up to and including the blank line.
    pub fn file_head(&self, name: &str, filename: &str, ct: Option<&str>) -> Vec<u8> {
        let mut h = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n",
            self.boundary
        );
        if let Some(ct) = ct {
            h.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    }

    pub fn file(&mut self, name: &str, filename: &str, ct: Option<&str>, data: &[u8]) -> &mut Self {
        let head = self.file_head(name, filename, ct);
        self.body.extend_from_slice(&head);
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// `(Content-Type, body)` with the closing boundary.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (self.content_type(), self.body)
    }
}

impl Default for Multipart {
    fn default() -> Self {
        Self::new()
    }
}
