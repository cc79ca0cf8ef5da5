package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/atrest/atrest/internal/edge"
)

// signedTable sends a Table request signed with SharedKeyLite.
func signedTable(t testing.TB, method, rawURL string, hdr map[string]string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2019-02-02")
	req.Header.Set("Accept", "application/json;odata=minimalmetadata")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	u, _ := url.Parse(rawURL)
	sts := edge.StringToSign(edge.FlavorTable, true, req, edge.DevAccount, u.EscapedPath())
	req.Header.Set("Authorization", "SharedKeyLite "+edge.DevAccount+":"+edge.B64(edge.Sign(edge.DevKeyBytes(), sts)))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// expectTableError checks status, x-ms-error-code and that the body is
// exactly {"odata.error":{"code":…,"message":{"lang":…,"value":…}}}.
func expectTableError(t testing.TB, resp *http.Response, status int, code string) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || resp.Header.Get("x-ms-error-code") != code {
		t.Fatalf("%s %s: got %d %q, want %d %s\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("x-ms-error-code"), status, code, b)
	}
	checkODataError(t, b, code)
}

func checkODataError(t testing.TB, b []byte, code string) {
	t.Helper()
	var body map[string]map[string]json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil || len(body) != 1 || len(body["odata.error"]) != 2 {
		t.Fatalf("error body is not odata.error with code and message only: %s", b)
	}
	var msg map[string]string
	json.Unmarshal(body["odata.error"]["message"], &msg)
	if string(body["odata.error"]["code"]) != `"`+code+`"` || len(msg) != 2 || msg["lang"] != "en-US" || msg["value"] == "" {
		t.Fatalf("error body: %s", b)
	}
}

// batchBody builds a one-changeset batch around raw operation parts.
func batchBody(parts ...string) (string, []byte) {
	var b strings.Builder
	b.WriteString("--batch_x\r\nContent-Type: multipart/mixed; boundary=changeset_y\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--changeset_y\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" + p + "\r\n")
	}
	b.WriteString("--changeset_y--\r\n--batch_x--\r\n")
	return "multipart/mixed; boundary=batch_x", []byte(b.String())
}

// TestBadTableInputKeepsData sends malformed batches, bad filters and
// oversized or invalid entities: each gets its Azure error, and the table
// afterwards holds exactly what it held before.
func TestBadTableInputKeepsData(t *testing.T) {
	ts := startServer(t)
	c := ts.tableClient(t).NewClient("keep")
	cx := ctx(t)
	_, err := c.CreateTable(cx, nil)
	must(t, err)
	for i := 0; i < 10; i++ {
		_, err := c.AddEntity(cx, marshal(t, map[string]any{"PartitionKey": "p", "RowKey": fmt.Sprint(i), "N": i}), nil)
		must(t, err)
	}
	before, _ := listAll(t, c, nil)
	base := ts.TableURL + "/" + edge.DevAccount

	// request-level failures
	expectTableError(t, signedTable(t, "POST", base+"/$batch", map[string]string{"Content-Type": "application/json"}, []byte("{}")), 400, "InvalidInput")
	expectTableError(t, signedTable(t, "POST", base+"/$batch", map[string]string{"Content-Type": "multipart/mixed; boundary=b"}, []byte("garbage")), 400, "InvalidInput")
	ct, huge := batchBody("POST " + base + "/keep HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"PartitionKey\":\"p\",\"RowKey\":\"big\",\"S\":\"" + strings.Repeat("x", 5<<20) + "\"}")
	expectTableError(t, signedTable(t, "POST", base+"/$batch", map[string]string{"Content-Type": ct}, huge), 413, "RequestBodyTooLarge")
	for _, q := range []string{"$filter=N%20eq", "$filter=N%20eq%20null", "$filter=startswith(RowKey,'a')", "$top=0", "$top=1001", "NextPartitionKey=bogus&NextRowKey=bogus"} {
		expectTableError(t, signedTable(t, "GET", base+"/keep()?"+q, nil, nil), 400, "InvalidInput")
	}
	for body, code := range map[string]string{
		`not json`:                                      "InvalidInput",
		`{"PartitionKey":"p"}`:                          "PropertiesNeedValue",
		`{"PartitionKey":"a/b","RowKey":"r"}`:           "OutOfRangeInput",
		`{"PartitionKey":"p","RowKey":"x","A":1,"A":2}`: "DuplicatePropertiesSpecified",
		`{"PartitionKey":"p","RowKey":"x","A@odata.type":"Edm.Int64","A":"x"}`:       "InvalidInput",
		`{"PartitionKey":"p","RowKey":"x","1bad":1}`:                                 "PropertyNameInvalid",
		`{"PartitionKey":"p","RowKey":"x","S":"` + strings.Repeat("y", 40000) + `"}`: "PropertyValueTooLarge",
	} {
		expectTableError(t, signedTable(t, "POST", base+"/keep", map[string]string{"Content-Type": "application/json"}, []byte(body)), 400, code)
	}
	expectTableError(t, signedTable(t, "GET", base+"/keep(PartitionKey='p')", nil, nil), 400, "InvalidInput")
	expectTableError(t, signedTable(t, "DELETE", base+"/keep(PartitionKey='p',RowKey='1')", nil, nil), 400, "MissingRequiredHeader")
	expectTableError(t, signedTable(t, "GET", base+"/keep()", map[string]string{"Accept": "application/atom+xml"}, nil), 415, "AtomFormatNotSupported")

	// failures inside a change set: 202, one failed part naming the
	// operation, nothing applied
	insert := func(rk, extra string) string {
		return "POST " + base + "/keep HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"PartitionKey\":\"p\",\"RowKey\":\"" + rk + "\"" + extra + "}"
	}
	for _, tc := range []struct {
		parts []string
		code  string
		index int
	}{
		{[]string{insert("n1", ""), insert("n2", ",oops")}, "InvalidInput", 1},
		{[]string{insert("n1", ""), insert("1", "")}, "EntityAlreadyExists", 1},
		{[]string{insert("n1", ""), "GET " + base + "/keep(PartitionKey='p',RowKey='1') HTTP/1.1\r\n\r\n"}, "InvalidInput", 1},
		{[]string{insert("n1", ""), "DELETE " + base + "/keep(PartitionKey='p',RowKey='2') HTTP/1.1\r\n\r\n"}, "MissingRequiredHeader", 1},
		{[]string{insert("n1", ""), "MERGE " + base + "/other(PartitionKey='p',RowKey='2') HTTP/1.1\r\nIf-Match: *\r\n\r\n{}"}, "CommandsInBatchActOnDifferentPartitions", 1},
		{[]string{"DELETE " + base + "/keep(PartitionKey='p',RowKey='3') HTTP/1.1\r\nIf-Match: *\r\n\r\n", "PUT " + base + "/keep(PartitionKey='p',RowKey='nope') HTTP/1.1\r\nIf-Match: *\r\n\r\n{}"}, "ResourceNotFound", 1},
	} {
		ct, body := batchBody(tc.parts...)
		resp := signedTable(t, "POST", base+"/$batch", map[string]string{"Content-Type": ct}, body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 202 || strings.Count(string(b), "HTTP/1.1 ") != 1 || !strings.Contains(string(b), `"code":"`+tc.code+`"`) ||
			!strings.Contains(string(b), fmt.Sprintf(`"value":"%d:`, tc.index)) {
			t.Fatalf("batch failing with %s: %d\n%s", tc.code, resp.StatusCode, b)
		}
		i := strings.Index(string(b), `{"odata.error"`)
		checkODataError(t, []byte(string(b[i:])[:strings.Index(string(b[i:]), "\r\n")]), tc.code)
	}

	after, _ := listAll(t, c, nil)
	if len(after) != len(before) {
		t.Fatalf("%d entities before the bad requests, %d after", len(before), len(after))
	}
	for i := range before {
		if before[i].RowKey != after[i].RowKey || before[i].ETag != after[i].ETag {
			t.Fatalf("entity %s changed", before[i].RowKey)
		}
	}
}

// TestBadQueueInputKeepsData: malformed bodies and parameters get their
// Azure errors and the queue keeps its messages.
func TestBadQueueInputKeepsData(t *testing.T) {
	ts := startServer(t)
	q := ts.queueClient(t).NewQueueClient("keep")
	cx := ctx(t)
	_, err := q.Create(cx, nil)
	must(t, err)
	for i := 0; i < 5; i++ {
		_, err := q.EnqueueMessage(cx, fmt.Sprint(i), nil)
		must(t, err)
	}
	base := ts.QueueURL + "/" + edge.DevAccount + "/keep/messages"
	msg := func(s string) []byte {
		return []byte("<QueueMessage><MessageText>" + s + "</MessageText></QueueMessage>")
	}
	expectError(t, signed(t, "POST", base, nil, []byte("<QueueMessage><MessageText>x")), 400, "InvalidXmlDocument")
	expectError(t, signed(t, "POST", base, nil, []byte("<QueueMessage></QueueMessage>")), 400, "InvalidXmlDocument")
	expectError(t, signed(t, "POST", base, nil, msg(strings.Repeat("&amp;", 65537))), 413, "RequestBodyTooLarge")
	expectError(t, signed(t, "POST", base, nil, msg(strings.Repeat("z", 7<<20))), 413, "RequestBodyTooLarge")
	expectError(t, signed(t, "POST", base+"?visibilitytimeout=604801", nil, msg("x")), 400, "OutOfRangeQueryParameterValue")
	expectError(t, signed(t, "POST", base+"?messagettl=0", nil, msg("x")), 400, "InvalidQueryParameterValue")
	expectError(t, signed(t, "POST", base+"?messagettl=abc", nil, msg("x")), 400, "InvalidQueryParameterValue")
	expectError(t, signed(t, "GET", base+"?numofmessages=33", nil, nil), 400, "OutOfRangeQueryParameterValue")
	expectError(t, signed(t, "GET", base+"?visibilitytimeout=0", nil, nil), 400, "OutOfRangeQueryParameterValue")
	expectError(t, signed(t, "DELETE", base+"/c9da6455-213d-42c9-9a79-3e9149a57833", nil, nil), 400, "MissingRequiredQueryParameter")
	expectError(t, signed(t, "PUT", base+"/c9da6455-213d-42c9-9a79-3e9149a57833?popreceipt=AAAAAAAAAAAAAAAAAAAAAA%3D%3D", nil, nil), 400, "MissingRequiredQueryParameter")
	expectError(t, signed(t, "DELETE", base+"/c9da6455-213d-42c9-9a79-3e9149a57833?popreceipt=AAAAAAAAAAAAAAAAAAAAAA%3D%3D", nil, nil), 404, "MessageNotFound")
	expectError(t, signed(t, "PUT", ts.QueueURL+"/"+edge.DevAccount+"/keep", map[string]string{"x-ms-meta-bad.name": "v"}, nil), 400, "InvalidMetadata")
	expectError(t, signed(t, "GET", ts.QueueURL+"/"+edge.DevAccount+"/keep/other", nil, nil), 400, "InvalidQueryParameterValue")

	peek, err := q.PeekMessages(cx, &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	must(t, err)
	if len(peek.Messages) != 5 {
		t.Fatalf("%d messages left after bad requests, want 5", len(peek.Messages))
	}
}
