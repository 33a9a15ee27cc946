-- The storefront's MariaDB data, and the empty database the restore writes into.
-- Run once by the mariadb image (/docker-entrypoint-initdb.d) on a fresh volume.
CREATE DATABASE storefront;
CREATE DATABASE storefront_restored;
USE storefront;
CREATE TABLE products (
    sku        VARCHAR(16) PRIMARY KEY,
    title      VARCHAR(200) NOT NULL,
    price      DECIMAL(10, 2) NOT NULL,
    stock      INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE stock_moves (
    id         INT AUTO_INCREMENT PRIMARY KEY,
    sku        VARCHAR(16) NOT NULL,
    delta      INT NOT NULL,
    note       TEXT,
    moved_at   DATETIME NOT NULL,
    FOREIGN KEY (sku) REFERENCES products (sku)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO products
SELECT CONCAT('SKU-', seq), CONCAT('Produkt Nr. ', seq, ' – Größe ', seq % 7), seq * 1.25, seq % 50
FROM seq_0_to_96;
INSERT INTO stock_moves (sku, delta, note, moved_at)
SELECT CONCAT('SKU-', seq % 97), CAST(seq % 11 AS SIGNED) - 5, IF(seq % 3 = 0, NULL, CONCAT('move ', seq)),
       '2024-03-01 00:00:00' + INTERVAL seq MINUTE
FROM seq_1_to_3000;
