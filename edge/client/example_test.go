package client_test

import (
	"log"
	"net/http"

	"github.com/melmastoon/iam/edge/client"
	"github.com/melmastoon/iam/edge/edgeapi"
)

// The in-process mode: the edge's own Service is a Decider.
var _ client.Decider = (*edgeapi.Service)(nil)

func ExampleRequire() {
	edge, err := client.New("http://127.0.0.1:8081", client.WithAPIToken("shared-api-token"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /orgs/{org}/invoices",
		client.Require(edge, "invoices.create", client.OrgFromPath("org"))(http.HandlerFunc(createInvoice)))
}

// A service that embeds the replica passes its *edgeapi.Service: the same
// decisions, without the network.
func ExampleRequire_inProcess() {
	var svc *edgeapi.Service // from edgeapi.New, over the embedded replica
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/invoices",
		client.Require(svc, "invoices.read", client.OrgFromPath("org"))(http.HandlerFunc(listInvoices)))
}

func createInvoice(w http.ResponseWriter, r *http.Request) {
	claims, _ := client.ClaimsFrom(r.Context())
	log.Printf("invoice created by %s", claims.Subject)
	w.WriteHeader(http.StatusCreated)
}

func listInvoices(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }
