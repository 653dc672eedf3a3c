//! A small User-Agent parser for the download history: the browser and platform names
//! PicoShare shows (those of `mileusna/useragent`: `Chrome`, `Firefox`, `Safari`, `Edge`,
//! `Opera`, `Samsung Browser`, `Googlebot`, …; `Windows`, `macOS`, `Linux`, `Android`, `iOS`,
//! `ChromeOS`), from the product tokens and the parenthesised comments of the header.
//!
//! Hand-written on purpose: the history page only needs these display names, the way
//! PicoShare shows them; a general User-Agent crate brings a regular-expression engine and a
//! database of patterns for answers we would still have to map onto PicoShare's names.

/// What the history page shows for one download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Browser or client name; for unknown agents the first meaningful product name (`curl`,
    /// `Wget`), else the raw string.
    pub browser: String,
    /// Operating system, or `""` when the header does not say.
    pub platform: String,
}

/// The pieces of a User-Agent: `name/version` products outside parentheses, and the
/// `;`-separated entries inside them.
struct Tokens<'a> {
    products: Vec<(&'a str, &'a str)>,
    comments: Vec<&'a str>,
}

impl<'a> Tokens<'a> {
    fn new(ua: &'a str) -> Self {
        let mut products = Vec::new();
        let mut comments = Vec::new();
        let mut rest = ua.trim();
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('(') {
                let end = inner.find(')').unwrap_or(inner.len());
                for entry in inner[..end].split(';') {
                    let entry = entry.trim();
                    if !entry.is_empty() {
                        comments.push(entry);
                    }
                }
                rest = inner.get(end + 1..).unwrap_or("").trim_start();
                continue;
            }
            let end = rest.find([' ', '(']).unwrap_or(rest.len());
            let word = &rest[..end];
            let (name, version) = word.split_once('/').unwrap_or((word, ""));
            if !name.is_empty() {
                products.push((name, version));
            }
            rest = rest[end..].trim_start();
        }
        Tokens { products, comments }
    }

    /// Whether `name` appears as a product, a comment entry, or a comment entry's leading
    /// word(s) (`Windows NT 10.0` has `Windows NT`; `Googlebot/2.1` has `Googlebot`).
    fn has(&self, name: &str) -> bool {
        self.products.iter().any(|(n, _)| *n == name)
            || self.comments.iter().any(|c| {
                c.strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '/']))
            })
    }

    /// The first product that is not one of the generic ones browsers all send.
    fn distinctive_product(&self) -> Option<&'a str> {
        const GENERIC: &[&str] = &[
            "Mozilla",
            "AppleWebKit",
            "KHTML,",
            "like",
            "Gecko",
            "Chrome",
            "Safari",
            "Version",
            "Mobile",
            "Mobile Safari",
            "Firefox",
            "compatible",
        ];
        self.products
            .iter()
            .map(|(n, _)| *n)
            .find(|n| !GENERIC.contains(n) && n.chars().next().is_some_and(char::is_alphabetic))
    }
}

fn platform(t: &Tokens) -> &'static str {
    if t.has("Android") {
        "Android"
    } else if t.has("iPhone") || t.has("iPad") || t.has("iPod") {
        "iOS"
    } else if t.has("Windows Phone OS") || t.has("Windows Phone") {
        "Windows Phone"
    } else if t.has("Windows NT") || t.has("Windows") {
        "Windows"
    } else if t.has("Macintosh") {
        "macOS"
    } else if t.has("CrOS") {
        "ChromeOS"
    } else if t.has("Linux") || t.has("X11") || t.has("Ubuntu") {
        "Linux"
    } else if t.has("FreeBSD") {
        "FreeBSD"
    } else {
        ""
    }
}

fn browser(t: &Tokens, raw: &str, os: &str) -> String {
    let name = match () {
        _ if t.has("Googlebot") => "Googlebot",
        _ if t.has("bingbot") => "Bingbot",
        _ if t.has("Applebot") => "Applebot",
        _ if t.has("YandexBot") => "YandexBot",
        _ if t.has("Opera Mini") => "Opera Mini",
        _ if t.has("OPR") || t.has("OPiOS") || t.has("Opera") => "Opera",
        _ if t.has("CriOS") => "Chrome",
        _ if t.has("FxiOS") || t.has("Firefox") => "Firefox",
        _ if t.has("Vivaldi") => "Vivaldi",
        _ if t.has("MSIE") || t.has("Trident") => "Internet Explorer",
        _ if t.has("EdgiOS") || t.has("Edge") || t.has("Edg") || t.has("EdgA") => "Edge",
        _ if t.has("SamsungBrowser") => "Samsung Browser",
        _ if t.has("HeadlessChrome") => "Headless Chrome",
        _ if t.has("Chrome") => {
            // Chromium-based browsers that add their own product (`YaBrowser/…`).
            return t
                .distinctive_product()
                .filter(|_| t.has("Safari"))
                .unwrap_or("Chrome")
                .to_owned();
        }
        _ if t.has("Safari") => "Safari",
        _ if os == "Android" && t.has("Version") => "Android browser",
        _ => {
            return t.distinctive_product().unwrap_or(raw).to_owned();
        }
    };
    name.to_owned()
}

/// Parses a User-Agent header value into browser and platform names.
pub fn parse(ua: &str) -> Agent {
    let t = Tokens::new(ua);
    let mut platform = platform(&t).to_owned();
    let browser = browser(&t, ua, &platform);
    match browser.as_str() {
        // Samsung Browser only ships on Android; Applebot's comments are not its platform.
        "Samsung Browser" => platform = "Android".into(),
        "Applebot" => platform.clear(),
        _ => {}
    }
    Agent { browser, platform }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_user_agents() {
        let table: &[(&str, &str, &str)] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 Safari/537.36",
                "Chrome",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like \
                 Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome",
                "macOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
                "Firefox",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like \
                 Gecko) Version/17.5 Safari/605.1.15",
                "Safari",
                "macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like \
                 Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                "Chrome",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
                "Firefox",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
                "Edge",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.6478.71 Mobile Safari/537.36 EdgA/126.0.2592.80",
                "Edge",
                "Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
                "Opera",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) \
                 SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Browser",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.6478.122 Mobile Safari/537.36",
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
                "Firefox",
                "Android",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 Safari/537.36",
                "Chrome",
                "ChromeOS",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 HeadlessChrome/126.0.0.0 Safari/537.36",
                "Headless Chrome",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
                "YaBrowser",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/126.0.0.0 Safari/537.36 Vivaldi/6.8",
                "Vivaldi",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
                "Internet Explorer",
                "Windows",
            ),
            (
                "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)",
                "Internet Explorer",
                "Windows",
            ),
            ("curl/8.5.0", "curl", ""),
            ("Wget/1.21.4", "Wget", ""),
            ("python-requests/2.31.0", "python-requests", ""),
            ("fixture-client/1.0 (curl)", "fixture-client", ""),
            (
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot",
                "",
            ),
            (
                "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 \
                 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; \
                 Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot",
                "Android",
            ),
            (
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                "Bingbot",
                "",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, \
                 like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)",
                "Applebot",
                "",
            ),
            ("", "", ""),
            ("something odd", "something", ""),
        ];
        for (ua, browser, platform) in table {
            let got = parse(ua);
            assert_eq!(
                (got.browser.as_str(), got.platform.as_str()),
                (*browser, *platform),
                "{ua}"
            );
        }
    }
}
