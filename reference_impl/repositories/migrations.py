"""Schema migrations, applied in order at start-up and recorded in ``schema_migrations``.

``idempotency_keys`` follows Brandur Leach's rocket-rides-atomic: a request's progress is its
``recovery_point``; ``locked_at`` marks the request working on it; the final response is stored.
"""

from __future__ import annotations

from typing import LiteralString

MIGRATIONS: list[tuple[int, list[LiteralString]]] = [
    (
        1,
        [
            """
            CREATE TABLE products (
                sku          text PRIMARY KEY,
                name         text NOT NULL,
                price_cents  bigint NOT NULL CHECK (price_cents > 0),
                updated_at   timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE carts (
                cart_id     uuid PRIMARY KEY,
                user_id     text NOT NULL,
                status      text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'checking_out', 'awaiting_payment', 'paid')),
                -- bumped on every edit and on every reopening: a checkout key covers one version
                version     integer NOT NULL DEFAULT 0,
                session_id  text,
                created_at  timestamptz NOT NULL DEFAULT now(),
                updated_at  timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE cart_items (
                cart_id   uuid NOT NULL REFERENCES carts ON DELETE CASCADE,
                sku       text NOT NULL REFERENCES products,
                quantity  integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
                PRIMARY KEY (cart_id, sku)
            )
            """,
            """
            CREATE TABLE idempotency_keys (
                id               bigserial PRIMARY KEY,
                created_at       timestamptz NOT NULL DEFAULT now(),
                idempotency_key  text NOT NULL CHECK (char_length(idempotency_key) <= 100),
                last_run_at      timestamptz NOT NULL DEFAULT now(),
                locked_at        timestamptz DEFAULT now(),

                -- parameters of the incoming request
                request_method   text NOT NULL,
                request_params   jsonb NOT NULL,
                request_path     text NOT NULL,

                -- for finished requests
                response_code    integer,
                response_body    jsonb,

                recovery_point   text NOT NULL,
                user_id          text NOT NULL,

                -- what this checkout needs to resume after a crash
                cart_id             uuid NOT NULL,
                plan                jsonb,
                reservation_id      text,
                reservation_attempt integer NOT NULL DEFAULT 0,
                stripe_key_generation integer NOT NULL DEFAULT 0,

                UNIQUE (user_id, idempotency_key)
            )
            """,
            """
            CREATE TABLE client_idempotency_keys (
                user_id     text NOT NULL,
                client_key  text NOT NULL,
                cart_id     uuid NOT NULL,
                created_at  timestamptz NOT NULL DEFAULT now(),
                -- global, not per user: a key names one checkout, whoever sends it again
                PRIMARY KEY (client_key)
            )
            """,
            """
            CREATE TABLE checkout_sessions (
                session_id          text PRIMARY KEY,
                cart_id             uuid NOT NULL REFERENCES carts,
                user_id             text NOT NULL,
                idempotency_key_id  bigint REFERENCES idempotency_keys,
                amount_total        bigint NOT NULL,
                items               jsonb NOT NULL,
                reservation_id      text,
                url                 text NOT NULL,
                status              text NOT NULL DEFAULT 'open'
                                    CHECK (status IN ('open', 'paid', 'expired', 'failed')),
                expires_at          timestamptz NOT NULL,
                created_at          timestamptz NOT NULL DEFAULT now(),
                updated_at          timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX checkout_sessions_cart ON checkout_sessions (cart_id)",
            """
            CREATE TABLE orders (
                order_id             uuid PRIMARY KEY,
                checkout_session_id  text NOT NULL UNIQUE,
                cart_id              uuid NOT NULL,
                user_id              text NOT NULL,
                status               text NOT NULL
                                     CHECK (status IN ('pending', 'fulfilled', 'refunded')),
                amount_total         bigint NOT NULL,
                items                jsonb NOT NULL,
                payment_intent       text,
                reservation_id       text,
                refund_id            text,
                refund_key_generation integer NOT NULL DEFAULT 0,
                created_at           timestamptz NOT NULL DEFAULT now(),
                updated_at           timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE processed_events (
                event_id      text PRIMARY KEY,
                event_type    text NOT NULL,
                session_id    text,
                processed_at  timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE outbox (
                id               bigserial PRIMARY KEY,
                kind             text NOT NULL
                                 CHECK (kind IN ('fulfil_order', 'release_reservation')),
                order_id         uuid,
                reservation_id   text,
                attempts         integer NOT NULL DEFAULT 0,
                next_attempt_at  timestamptz NOT NULL DEFAULT now(),
                leased_until     timestamptz,
                done_at          timestamptz,
                dead_at          timestamptz,
                last_error       text,
                created_at       timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL AND dead_at IS NULL",
        ],
    ),
]
