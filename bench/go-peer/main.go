// The Go peer of the benchmark command's end-to-end figures: the same products API read
// path as the example (one product, and one page of the list, as JSON with an ETag and
// Last-Modified), written the way a Go service usually is: net/http's ServeContent over
// database/sql and mattn/go-sqlite3, on an in-memory database served by one connection,
// as the example's in-memory database is.
//
// It builds from Debian's packaged sources without the module proxy:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-peer main.go
//
// Usage: go-peer ADDR ROWS. It seeds ROWS products named as the benchmark seeds the
// example ("Product i", price i%500 + 0.99), prints "listening" once it accepts
// connections, and serves GET /products/{id} and GET /products?limit=N.
package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

type product struct {
	ID        int64   `json:"id"`
	Name      string  `json:"name"`
	Price     float64 `json:"price"`
	Version   int64   `json:"version"`
	UpdatedAt string  `json:"updated_at"`
}

const columns = "id, name, price_cents, version, updated_at"

func scan(rows interface{ Scan(...any) error }) (product, time.Time, error) {
	var p product
	var cents, micros int64
	if err := rows.Scan(&p.ID, &p.Name, &cents, &p.Version, &micros); err != nil {
		return p, time.Time{}, err
	}
	p.Price = float64(cents) / 100
	t := time.UnixMicro(micros).UTC()
	p.UpdatedAt = t.Format("2006-01-02T15:04:05.000000Z")
	return p, t, nil
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go-peer ADDR ROWS")
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file::memory:")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(`CREATE TABLE products (
		id BIGINT PRIMARY KEY, name TEXT NOT NULL, price_cents BIGINT NOT NULL,
		version BIGINT NOT NULL, updated_at BIGINT NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	now := time.Now().UnixMicro()
	for i := 0; i < n; i++ {
		_, err := tx.Exec("INSERT INTO products ("+columns+") VALUES (?, ?, ?, 1, ?)",
			i+1, fmt.Sprintf("Product %d", i), (i%500)*100+99, now)
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	item, err := db.Prepare("SELECT " + columns + " FROM products WHERE id = ?")
	if err != nil {
		log.Fatal(err)
	}
	list, err := db.Prepare("SELECT " + columns + " FROM products WHERE id > ? ORDER BY id LIMIT ?")
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/products/", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/products/"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		p, modified, err := scan(item.QueryRow(id))
		if err == sql.ErrNoRows {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", fmt.Sprintf("%q", strconv.FormatInt(p.Version, 10)))
		http.ServeContent(w, r, "", modified, bytes.NewReader(body))
	})
	mux.HandleFunc("/products", func(w http.ResponseWriter, r *http.Request) {
		limit := int64(100)
		if l := r.URL.Query().Get("limit"); l != "" {
			if limit, err = strconv.ParseInt(l, 10, 64); err != nil || limit < 1 || limit > 1000 {
				http.Error(w, "bad limit", http.StatusBadRequest)
				return
			}
		}
		rows, err := list.Query(0, limit)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		page := make([]product, 0, limit)
		var modified time.Time
		for rows.Next() {
			p, t, err := scan(rows)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if t.After(modified) {
				modified = t
			}
			page = append(page, p)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(page)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		// The list's tag: a digest of the body, the usual way without a revision.
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"`+base64.RawURLEncoding.EncodeToString(sum[:18])+`"`)
		http.ServeContent(w, r, "", modified, bytes.NewReader(body))
	})

	listener, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening")
	log.Fatal(http.Serve(listener, mux))
}
