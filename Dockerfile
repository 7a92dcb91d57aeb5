# iogate container image: a static-ish Rust binary on a slim Debian runtime, run as a non-root user.
#   docker build -t iogate .
#   docker run -p 8080:8080 -v "$PWD/iogate.toml:/etc/iogate/iogate.toml:ro" iogate
# The config is read from /etc/iogate/iogate.toml. PORT (default 8080 here) sets the listen port on all interfaces.

FROM rust:1-slim-bookworm AS build
# make builds jemalloc, the global allocator (the image already has the C compiler).
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml ./
COPY src ./src
# The workspace's other members: the wire-code crates iogate builds on, and the benchmark tools (built only when
# asked for, but the workspace names them).
COPY crates ./crates
COPY bench ./bench
COPY config ./config
COPY examples ./examples
RUN cargo build --release && strip target/release/iogate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin iogate \
 && mkdir -p /etc/iogate
COPY --from=build /src/target/release/iogate /usr/local/bin/iogate
COPY config/iogate.toml /etc/iogate/iogate.toml
USER iogate
ENV PORT=8080
EXPOSE 8080 8081
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/iogate", "healthcheck", "--address", "127.0.0.1:8080"]
ENTRYPOINT ["/usr/local/bin/iogate"]
CMD ["--config", "/etc/iogate/iogate.toml", "--log-format", "json"]
