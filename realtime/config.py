"""Settings of the realtime service (TOML table [realtime], env AGENTPLANE_REALTIME__...).

Layer: configuration. Every limit of the fetcher (sizes, deadlines, concurrency,
politeness, cache) is explicit here; defaults are safe for the public web and run
with no external service.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from agentplane.settings import FrozenModel, RetrySettings, ServiceSettings

__all__ = [
    "CacheSettings",
    "ContentSettings",
    "ExtractionLimits",
    "FetchSettings",
    "HostPolicySettings",
    "PolitenessSettings",
    "RealtimeSettings",
    "RobotsSettings",
    "SsrfSettings",
    "VolatilitySettings",
    "WatchSettings",
]

_DEFAULT_CONTENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "text/xml",
    "application/xml",
    "application/json",
    "text/csv",
)


class SsrfSettings(FrozenModel):
    """The SSRF guard: which addresses the fetcher may connect to."""

    enabled: bool = True
    """Refuse private, loopback, link-local, multicast, reserved and metadata addresses."""
    allow: tuple[str, ...] = ()
    """Explicit exceptions: CIDRs or addresses with an optional port, e.g. "127.0.0.1/32", "127.0.0.1:8080"."""
    also_allow: tuple[str, ...] = ()
    """More exceptions, set by `agentplane up` for its sample site (127.0.0.1:8090), so `allow` stays yours."""
    blocked_hostnames: tuple[str, ...] = ("localhost", "metadata.google.internal", "metadata", "instance-data")
    """Host names refused before resolution (subdomains of "localhost" are refused too)."""


class HostPolicySettings(FrozenModel):
    """Politeness towards one host (the default, or an override for a named host)."""

    max_concurrent: int = Field(4, gt=0, le=1024)
    """Requests in flight to one host at once."""
    min_delay_s: float = Field(0.25, ge=0, le=3600)
    """Minimum gap between the starts of two requests to one host."""


class PolitenessSettings(FrozenModel):
    """Per-host concurrency, spacing and adaptive back-off."""

    default: HostPolicySettings = HostPolicySettings()
    hosts: dict[str, HostPolicySettings] = {}
    """Overrides by host name (lower case), e.g. an internal host that may be hit harder."""
    backoff_factor: float = Field(2.0, ge=1.0)
    """After a 429/503, the host's delay is multiplied by this (and decays on success)."""
    max_delay_s: float = Field(60.0, gt=0)
    """Cap on the adapted per-host delay."""
    max_crawl_delay_s: float = Field(10.0, ge=0)
    """A robots.txt Crawl-delay above this is capped."""
    max_hosts: int = Field(10_000, gt=0)
    """Idle host states beyond this are forgotten (oldest first)."""


class RobotsSettings(FrozenModel):
    """robots.txt handling (RFC 9309)."""

    obey: bool = True
    """Refuse URLs that robots.txt disallows for our user agent."""
    ttl_s: float = Field(3600.0, gt=0)
    """How long a host's robots.txt is cached."""
    unreachable_ttl_s: float = Field(300.0, gt=0)
    """How long a 5xx/unreachable robots.txt (disallow all, per RFC 9309) is cached."""
    max_bytes: int = Field(512 * 1024, gt=0)
    """robots.txt beyond this is cut (RFC 9309 requires at least 500 KiB to be parsed)."""
    max_hosts: int = Field(10_000, gt=0)
    """Cached robots.txt files kept at most."""


class FetchSettings(FrozenModel):
    """Limits of one fetch."""

    user_agent: str = "agentplane-realtime/0.1 (+https://github.com/agentplane; bot)"
    """Honest User-Agent header sent with every request."""
    robots_token: str = "agentplane"
    """Product token matched against robots.txt User-agent lines."""
    timeout_s: float = Field(20.0, gt=0, le=600)
    """Default total deadline of one fetch (robots, waits, retries, redirects, body)."""
    max_timeout_s: float = Field(120.0, gt=0, le=3600)
    """Largest deadline a caller may ask for."""
    connect_timeout_s: float = Field(5.0, gt=0)
    """Deadline of one TCP/TLS connect."""
    max_body_bytes: int = Field(5 * 1024 * 1024, gt=0)
    """Largest body on the wire (compressed), enforced while streaming."""
    max_decompressed_bytes: int = Field(10 * 1024 * 1024, gt=0)
    """Largest body after decompression (gzip bombs)."""
    max_redirects: int = Field(5, ge=0, le=30)
    """Redirects followed at most; each hop is checked again by the SSRF guard and robots.txt."""
    allowed_content_types: tuple[str, ...] = _DEFAULT_CONTENT_TYPES
    """Media types accepted; others fail with FAILED_PRECONDITION before the body is read."""
    retry: RetrySettings = RetrySettings(base_delay_s=0.2, max_delay_s=5.0, max_retry_after_s=30.0)
    """Retries on transient errors (connect errors, 429, 502, 503, 504): attempts, full-jitter back-off,
    the longest Retry-After waited for (longer: the caller gets UNAVAILABLE with the delay), retry budget."""
    max_connections: int = Field(256, gt=0)
    """Open connections of the shared session at most."""
    dns_cache_ttl_s: int = Field(10, ge=0)
    """How long resolved (and checked) addresses are reused."""


class ContentSettings(FrozenModel):
    """What a fetch returns."""

    default_max_length: int = Field(20_000, gt=0)
    """Characters of text/markdown returned when the caller gives no max_length."""
    max_length: int = Field(1_000_000, gt=0)
    """Largest window a caller may ask for."""
    max_links: int = Field(200, ge=0)
    """Links returned at most (include_links)."""
    injection_threshold: float = Field(0.5, ge=0, le=1)
    """Injection score from which a page is flagged."""
    max_findings: int = Field(20, ge=0)
    """Injection findings reported at most."""
    parse_threads: int = Field(2, ge=0, le=64)
    """Worker threads that decode and parse large HTML bodies (Lexbor releases the GIL while parsing); 0 = none."""
    inline_parse_max_bytes: int = Field(64 * 1024, ge=0)
    """Bodies up to this size are parsed on the event loop (a thread hand-off costs more than a small parse)."""
    max_nesting_depth: int = Field(512, gt=0, le=100_000)
    """HTML nested deeper than this is refused with RESOURCE_EXHAUSTED before parsing (the parser's time
    grows with depth times elements; browsers stop nesting at 512 too)."""
    nesting_check_min_tags: int = Field(8192, ge=0)
    """HTML with fewer "<" than this is parsed without the nesting scan (its worst-case parse is short)."""


class ExtractionLimits(FrozenModel):
    """Bounds of one extraction schema."""

    max_fields: int = Field(200, gt=0)
    """Fields in a schema at most, nested ones included."""
    max_depth: int = Field(4, gt=0, le=32)
    """Nesting depth at most."""
    max_matches: int = Field(1000, gt=0)
    """Matches kept per list field."""
    max_html_bytes: int = Field(10 * 1024 * 1024, gt=0)
    """Largest inline HTML accepted by Extract."""


class CacheSettings(FrozenModel):
    """The shared response cache (public pages only: requests never carry credentials)."""

    enabled: bool = True
    max_entries: int = Field(2000, ge=0)
    """Pages kept at most."""
    max_bytes: int = Field(256 * 1024 * 1024, ge=0)
    """Bodies kept at most, in bytes."""
    stale_keep_s: float = Field(86_400.0, ge=0)
    """Expired entries with validators are kept this long for conditional requests."""


class VolatilitySettings(FrozenModel):
    """Cache TTL and refresh period for each volatility class, in seconds."""

    default: str = "hours"
    """Volatility used when a request leaves it unspecified."""
    ttl_s: dict[str, float] = {"seconds": 5, "minutes": 60, "hours": 900, "days": 21_600, "static": 604_800}
    """Response-cache TTL per class."""
    refresh_s: dict[str, float] = {"seconds": 15, "minutes": 300, "hours": 3600, "days": 86_400, "static": 604_800}
    """Refresh period of watched sources per class."""

    @field_validator("default")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ("seconds", "minutes", "hours", "days", "static"):
            raise ValueError("must be one of seconds, minutes, hours, days, static")
        return value


class WatchSettings(FrozenModel):
    """Watched sources and their refresh scheduler."""

    enabled: bool = True
    """Run the background refresh scheduler."""
    max_sources_per_tenant: int = Field(500, gt=0)
    """Watched sources one tenant may register."""
    min_refresh_interval_s: int = Field(10, gt=0)
    """Shortest refresh period a caller may ask for."""
    max_concurrent_refreshes: int = Field(8, gt=0)
    """Refreshes running at once."""
    jitter: float = Field(0.1, ge=0, lt=1)
    """Refresh times are spread by +/- this share of the period."""
    failure_backoff_s: float = Field(30.0, gt=0)
    """First retry delay after a failed refresh; doubles per consecutive failure."""
    max_failure_backoff_s: float = Field(3600.0, gt=0)
    """Cap on the failure back-off (never beyond the source's own period)."""
    refresh_timeout_s: float = Field(30.0, gt=0)
    """Deadline of one refresh."""
    max_idle_wait_s: float = Field(60.0, gt=0)
    """The scheduler looks at the store at least this often."""
    snapshot_history: int = Field(5, gt=0)
    """Snapshots kept per source (the latest is served)."""
    max_snapshot_text_chars: int = Field(200_000, gt=0)
    """Text stored per snapshot at most."""
    page_size: int = Field(100, gt=0)
    """Default ListSources page size."""


class RealtimeSettings(ServiceSettings):
    """Settings of the realtime service."""

    fetch: FetchSettings = FetchSettings()
    ssrf: SsrfSettings = SsrfSettings()
    politeness: PolitenessSettings = PolitenessSettings()
    robots: RobotsSettings = RobotsSettings()
    content: ContentSettings = ContentSettings()
    extraction: ExtractionLimits = ExtractionLimits()
    cache: CacheSettings = CacheSettings()
    volatility: VolatilitySettings = VolatilitySettings()
    watch: WatchSettings = WatchSettings()
    use_uvloop: bool = True
    """Run `python -m realtime.server` on uvloop."""
