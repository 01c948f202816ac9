# syntax=docker/dockerfile:1
# support-access: a release build (LTO) in a Rust image, run as a non-root user in a
# slim Debian image. Data (SQLite database, master key) lives in the volume
# /var/lib/support-access.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin support-access \
 && install -m 0755 target/release/support-access /usr/local/bin/support-access

FROM debian:bookworm-slim
# curl for the health check; CA certificates for the CLI client's HTTPS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/support-access --shell /usr/sbin/nologin support-access \
 && install -d -o support-access -g support-access -m 0700 /var/lib/support-access
COPY --from=build /usr/local/bin/support-access /usr/local/bin/support-access
USER support-access
WORKDIR /var/lib/support-access
ENV SUPPORT_ACCESS_LISTEN=0.0.0.0:8080 \
    SUPPORT_ACCESS_DATABASE_URL=sqlite:///var/lib/support-access/support-access.db \
    SUPPORT_ACCESS_MASTER_KEY_FILE=/var/lib/support-access/master.key
VOLUME ["/var/lib/support-access"]
EXPOSE 8080
# /readyz answers 200 while the database does. (With TLS on, use https and --cacert.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/readyz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/support-access"]
CMD ["serve"]
