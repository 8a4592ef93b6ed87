// dexapi: a small client of Dex's gRPC API over mutual TLS, for the tests.
//
//	dexapi -addr 127.0.0.1:PORT -ca ca.crt -cert client.crt -key client.key version
//	dexapi ... list-refresh USER_SUB        one JSON line: {"refresh_tokens":[{id,client_id,created_at,last_used}]}
//	dexapi ... revoke-refresh USER_SUB CLIENT_ID
//	dexapi ... list-clients
//
// Output is one JSON line on stdout; an error is one line on stderr and exit code 1 (2: usage).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	api "github.com/dexidp/dex/api/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

func main() {
	addr := flag.String("addr", "", "Dex gRPC address host:port")
	caFile := flag.String("ca", "", "CA that signed Dex's gRPC server certificate")
	certFile := flag.String("cert", "", "client certificate")
	keyFile := flag.String("key", "", "client key")
	flag.Parse()
	args := flag.Args()
	if *addr == "" || *caFile == "" || *certFile == "" || *keyFile == "" || len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: dexapi -addr H:P -ca F -cert F -key F version|list-refresh SUB|revoke-refresh SUB CLIENT|list-clients")
		os.Exit(2)
	}
	if err := run(*addr, *caFile, *certFile, *keyFile, args); err != nil {
		fmt.Fprintln(os.Stderr, "dexapi:", err)
		os.Exit(1)
	}
}

func run(addr, caFile, certFile, keyFile string, args []string) error {
	caPem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPem) {
		return fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := api.NewDexClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var out any
	switch {
	case args[0] == "version" && len(args) == 1:
		out, err = client.GetVersion(ctx, &api.VersionReq{})
	case args[0] == "list-refresh" && len(args) == 2:
		out, err = client.ListRefresh(ctx, &api.ListRefreshReq{UserId: args[1]})
	case args[0] == "revoke-refresh" && len(args) == 3:
		out, err = client.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: args[1], ClientId: args[2]})
	case args[0] == "list-clients" && len(args) == 1:
		out, err = client.ListClients(ctx, &api.ListClientReq{})
	default:
		fmt.Fprintln(os.Stderr, "dexapi: unknown command or wrong number of arguments:", args)
		os.Exit(2)
	}
	if err != nil {
		return err
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}
