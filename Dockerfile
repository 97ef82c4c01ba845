# Multi-stage build: compile in the Rust image, run in a slim Debian with only libpq.
FROM rust:1.89-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY openapi ./openapi
RUN cargo build --release --locked --bin cdt-api

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/cdt-api --create-home cdt
COPY --from=build /src/target/release/cdt-api /usr/local/bin/cdt-api
USER cdt
ENV BIND_ADDR=0.0.0.0:8080 LOG_FORMAT=json CDT_DATA_DIR=/var/lib/cdt-api
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["cdt-api"]
CMD ["serve"]
