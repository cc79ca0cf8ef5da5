package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, code bloberror.Code) {
	t.Helper()
	if !bloberror.HasCode(err, code) {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func body(b []byte) io.ReadSeekCloser { return streaming.NopCloser(bytes.NewReader(b)) }

func download(t testing.TB, c *blob.Client, opt *blob.DownloadStreamOptions) []byte {
	t.Helper()
	resp, err := c.DownloadStream(ctx(t), opt)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return b
}

func TestGoContainers(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	for i := 0; i < 7; i++ {
		_, err := c.CreateContainer(cx, fmt.Sprintf("box-%02d", i), &azblob.CreateContainerOptions{Metadata: map[string]*string{"idx": to.Ptr(fmt.Sprint(i))}})
		must(t, err)
	}
	_, err := c.CreateContainer(cx, "other", nil)
	must(t, err)
	_, err = c.CreateContainer(cx, "box-00", nil)
	wantCode(t, err, bloberror.ContainerAlreadyExists)
	_, err = c.CreateContainer(cx, "Bad_Name", nil)
	wantCode(t, err, bloberror.InvalidResourceName)

	// prefix + paging + metadata
	var names []string
	pages := 0
	pager := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr("box-"), MaxResults: to.Ptr(int32(3)), Include: azblob.ListContainersInclude{Metadata: true}})
	for pager.More() {
		p, err := pager.NextPage(cx)
		must(t, err)
		pages++
		for _, it := range p.ContainerItems {
			names = append(names, *it.Name)
			var idx int
			fmt.Sscanf((*it.Name)[4:], "%d", &idx)
			if v := it.Metadata["idx"]; v == nil || *v != fmt.Sprint(idx) {
				t.Fatalf("metadata of %s: %v", *it.Name, it.Metadata)
			}
		}
	}
	if len(names) != 7 || pages != 3 || !sort.StringsAreSorted(names) {
		t.Fatalf("listed %v in %d pages", names, pages)
	}

	cc := c.ServiceClient().NewContainerClient("other")
	_, err = c.UploadBuffer(cx, "other", "left-behind", []byte("x"), nil)
	must(t, err)
	_, err = cc.SetMetadata(cx, &container.SetMetadataOptions{Metadata: map[string]*string{"owner": to.Ptr("team-a")}})
	must(t, err)
	props, err := cc.GetProperties(cx, nil)
	must(t, err)
	if meta(props.Metadata, "owner") != "team-a" || *props.LeaseState != "available" {
		t.Fatalf("container props: %+v", props)
	}
	// access policy round trip
	_, err = cc.SetAccessPolicy(cx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeBlob),
		ContainerACL: []*container.SignedIdentifier{{ID: to.Ptr("policy1"), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("rl")}}}})
	must(t, err)
	acl, err := cc.GetAccessPolicy(cx, nil)
	must(t, err)
	if *acl.BlobPublicAccess != container.PublicAccessTypeBlob || len(acl.SignedIdentifiers) != 1 || *acl.SignedIdentifiers[0].ID != "policy1" {
		t.Fatalf("acl: %+v", acl)
	}
	// container lease guards delete
	lc, err := lease.NewContainerClient(cc, nil)
	must(t, err)
	_, err = lc.AcquireLease(cx, -1, nil)
	must(t, err)
	_, err = cc.Delete(cx, nil)
	wantCode(t, err, bloberror.LeaseIDMissing)
	_, err = cc.Delete(cx, &container.DeleteOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: &container.LeaseAccessConditions{LeaseID: lc.LeaseID()}}})
	must(t, err)
	_, err = cc.GetProperties(cx, nil)
	wantCode(t, err, bloberror.ContainerNotFound)
	// the name is free again, and the new container starts empty
	_, err = c.CreateContainer(cx, "other", nil)
	must(t, err)
	if pg, err := cc.NewListBlobsFlatPager(nil).NextPage(cx); err != nil || len(pg.Segment.BlobItems) != 0 {
		t.Fatalf("recreated container not empty: %v", err)
	}

	info, err := c.ServiceClient().GetAccountInfo(cx, nil)
	must(t, err)
	if info.SKUName == nil {
		t.Fatal("no account info")
	}
	sp, err := c.ServiceClient().GetProperties(cx, nil)
	must(t, err)
	_, err = c.ServiceClient().SetProperties(cx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr(int32(3))}})
	must(t, err)
	sp, err = c.ServiceClient().GetProperties(cx, nil)
	must(t, err)
	if sp.DeleteRetentionPolicy == nil || !*sp.DeleteRetentionPolicy.Enabled || *sp.DeleteRetentionPolicy.Days != 3 {
		t.Fatalf("service properties not kept: %+v", sp.DeleteRetentionPolicy)
	}
}

func TestGoBlockBlobs(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "data", nil)
	must(t, err)
	cc := c.ServiceClient().NewContainerClient("data")

	// a 64 MiB+ blob in several blocks, with CRC64 transfer validation
	big := pattern(66<<20+12345, "big")
	_, err = c.UploadStream(cx, "data", "big.bin", bytes.NewReader(big), &azblob.UploadStreamOptions{BlockSize: 8 << 20, Concurrency: 3})
	must(t, err)
	bb := cc.NewBlockBlobClient("big.bin")
	bl, err := bb.GetBlockList(cx, blockblob.BlockListTypeAll, nil)
	must(t, err)
	if len(bl.CommittedBlocks) != 9 || len(bl.UncommittedBlocks) != 0 {
		t.Fatalf("block list: %d committed, %d uncommitted", len(bl.CommittedBlocks), len(bl.UncommittedBlocks))
	}
	got := make([]byte, len(big))
	n, err := bb.DownloadBuffer(cx, got, &blob.DownloadBufferOptions{BlockSize: 4 << 20, Concurrency: 4})
	must(t, err)
	if n != int64(len(big)) || !bytes.Equal(got, big) {
		t.Fatal("big blob differs after download")
	}
	// ranged reads across block and segment boundaries
	for _, r := range [][2]int64{{0, 1}, {8<<20 - 5, 10}, {65535, 3}, {int64(len(big)) - 7, 7}, {12345678, 5 << 20}} {
		part := download(t, bb.BlobClient(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: r[0], Count: r[1]}})
		if !bytes.Equal(part, big[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v differs", r)
		}
	}
	// range MD5
	resp, err := bb.DownloadStream(cx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 100, Count: 1000}, RangeGetContentMD5: to.Ptr(true)})
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sum := md5.Sum(big[100:1100])
	if !bytes.Equal(resp.ContentMD5, sum[:]) {
		t.Fatal("range MD5 wrong")
	}
	// out-of-range read
	_, err = bb.DownloadStream(cx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: int64(len(big)) + 10, Count: 5}})
	wantCode(t, err, bloberror.InvalidRange)

	// single-shot upload with headers, metadata, MD5 and CRC64 validation
	small := []byte("hello, encrypted world")
	sb := cc.NewBlockBlobClient("dir/sub/hello.txt")
	up, err := sb.Upload(cx, body(small), &blockblob.UploadOptions{
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobCacheControl: to.Ptr("no-cache")},
		Metadata:                map[string]*string{"purpose": to.Ptr("greeting")},
		TransactionalValidation: blob.TransferValidationTypeComputeCRC64(),
	})
	must(t, err)
	if up.IsServerEncrypted == nil || !*up.IsServerEncrypted {
		t.Fatal("upload did not report server encryption")
	}
	p, err := sb.GetProperties(cx, nil)
	must(t, err)
	if *p.ContentType != "text/plain" || *p.CacheControl != "no-cache" || *p.ContentLength != int64(len(small)) ||
		meta(p.Metadata, "purpose") != "greeting" || !*p.IsServerEncrypted || *p.BlobType != blob.BlobTypeBlockBlob {
		t.Fatalf("properties: %+v", p)
	}
	if want := md5.Sum(small); !bytes.Equal(p.ContentMD5, want[:]) {
		t.Fatal("stored MD5 wrong")
	}
	if got := download(t, sb.BlobClient(), nil); !bytes.Equal(got, small) {
		t.Fatalf("small blob: %q", got)
	}
	_, err = sb.SetHTTPHeaders(cx, blob.HTTPHeaders{BlobContentType: to.Ptr("application/json"), BlobContentLanguage: to.Ptr("en")}, nil)
	must(t, err)
	_, err = sb.SetMetadata(cx, map[string]*string{"a": to.Ptr("1"), "b": to.Ptr("2")}, nil)
	must(t, err)
	p, err = sb.GetProperties(cx, nil)
	must(t, err)
	if *p.ContentType != "application/json" || *p.ContentLanguage != "en" || len(p.Metadata) != 2 || meta(p.Metadata, "b") != "2" {
		t.Fatalf("after set: %+v %v", p, p.Metadata)
	}

	// explicit blocks: uncommitted, then a list mixing committed and new
	ids := []string{b64("blk-0"), b64("blk-1"), b64("blk-2")}
	eb := cc.NewBlockBlobClient("explicit")
	for i, id := range ids {
		_, err := eb.StageBlock(cx, id, body([]byte(fmt.Sprintf("part%d;", i))), nil)
		must(t, err)
	}
	bl, err = eb.GetBlockList(cx, blockblob.BlockListTypeUncommitted, nil)
	must(t, err)
	if len(bl.UncommittedBlocks) != 3 {
		t.Fatalf("uncommitted: %d", len(bl.UncommittedBlocks))
	}
	_, err = eb.CommitBlockList(cx, []string{ids[2], ids[0]}, nil)
	must(t, err)
	if got := download(t, eb.BlobClient(), nil); string(got) != "part2;part0;" {
		t.Fatalf("committed content %q", got)
	}
	_, err = eb.StageBlock(cx, ids[1], body([]byte("new1;")), nil)
	must(t, err)
	// CommitBlockList sends <Latest>: ids[0] resolves to the committed block
	_, err = eb.CommitBlockList(cx, []string{ids[0], ids[1]}, nil)
	must(t, err)
	if got := download(t, eb.BlobClient(), nil); string(got) != "part0;new1;" {
		t.Fatalf("recommitted content %q", got)
	}
	_, err = eb.CommitBlockList(cx, []string{b64("nope")}, nil)
	wantCode(t, err, bloberror.InvalidBlockList)

	// a blob with only uncommitted blocks is listed only when asked for
	_, err = cc.NewBlockBlobClient("pending").StageBlock(cx, b64("p0"), body([]byte("pending")), nil)
	must(t, err)
	listNames := func(inc container.ListBlobsInclude) []string {
		var out []string
		pg := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc, Prefix: to.Ptr("pe")})
		for pg.More() {
			p, err := pg.NextPage(cx)
			must(t, err)
			for _, it := range p.Segment.BlobItems {
				out = append(out, *it.Name)
			}
		}
		return out
	}
	if got := listNames(container.ListBlobsInclude{}); len(got) != 0 {
		t.Fatalf("uncommitted blob listed by default: %v", got)
	}
	if got := listNames(container.ListBlobsInclude{UncommittedBlobs: true}); fmt.Sprint(got) != "[pending]" {
		t.Fatalf("include=uncommittedblobs: %v", got)
	}

	// conditional requests
	p, err = sb.GetProperties(cx, nil)
	must(t, err)
	_, err = sb.Upload(cx, body([]byte("x")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azETag("0x1"))}}})
	wantCode(t, err, bloberror.ConditionNotMet)
	_, err = sb.Upload(cx, body([]byte("x")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azETag("*"))}}})
	wantCode(t, err, bloberror.BlobAlreadyExists)
	// a read whose If-None-Match holds the current ETag is 304: no content
	nm, err := sb.DownloadStream(cx, &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: p.ETag}}})
	if err == nil && nm.Body != nil {
		b, _ := io.ReadAll(nm.Body)
		nm.Body.Close()
		if len(b) != 0 {
			t.Fatal("If-None-Match with the current ETag returned content")
		}
	}
	_, err = sb.Upload(cx, body([]byte("x")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: p.ETag}}})
	wantCode(t, err, bloberror.ConditionNotMet)
	_, err = sb.SetMetadata(cx, map[string]*string{"c": to.Ptr("3")}, &blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: p.ETag}}})
	must(t, err)
	_, err = sb.SetMetadata(cx, map[string]*string{"c": to.Ptr("4")}, &blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: p.ETag}}})
	wantCode(t, err, bloberror.ConditionNotMet)

	// listing: flat with paging and metadata, hierarchical with prefixes
	for i := 0; i < 5; i++ {
		_, err := c.UploadBuffer(cx, "data", fmt.Sprintf("dir/f%d", i), []byte("f"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"n": to.Ptr(fmt.Sprint(i))}})
		must(t, err)
	}
	var flat []string
	fp := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr("dir/"), MaxResults: to.Ptr(int32(2)), Include: container.ListBlobsInclude{Metadata: true}})
	for fp.More() {
		pg, err := fp.NextPage(cx)
		must(t, err)
		for _, it := range pg.Segment.BlobItems {
			flat = append(flat, *it.Name)
			if !*it.Properties.ServerEncrypted {
				t.Fatal("listing says not encrypted")
			}
		}
	}
	if fmt.Sprint(flat) != "[dir/f0 dir/f1 dir/f2 dir/f3 dir/f4 dir/sub/hello.txt]" {
		t.Fatalf("flat listing: %v", flat)
	}
	items, prefixes := listHierarchy(t, cc, &container.ListBlobsHierarchyOptions{Prefix: to.Ptr("dir/"), MaxResults: to.Ptr(int32(4))})
	if fmt.Sprint(items) != "[dir/f0 dir/f1 dir/f2 dir/f3 dir/f4]" || fmt.Sprint(prefixes) != "[dir/sub/]" {
		t.Fatalf("hierarchy: %v %v", items, prefixes)
	}
	// top level: big.bin, explicit and the dir/ prefix
	items, prefixes = listHierarchy(t, cc, nil)
	if fmt.Sprint(items) != "[big.bin explicit]" || fmt.Sprint(prefixes) != "[dir/]" {
		t.Fatalf("top level: %v %v", items, prefixes)
	}

	// delete
	_, err = sb.Delete(cx, nil)
	must(t, err)
	_, err = sb.GetProperties(cx, nil)
	wantCode(t, err, bloberror.BlobNotFound)
	_, err = sb.Delete(cx, nil)
	wantCode(t, err, bloberror.BlobNotFound)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestGoLeasesSnapshotsCopy(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "lsc", nil)
	must(t, err)
	cc := c.ServiceClient().NewContainerClient("lsc")
	bc := cc.NewBlockBlobClient("leased")
	_, err = bc.Upload(cx, body([]byte("v1")), nil)
	must(t, err)

	lc, err := lease.NewBlobClient(bc, nil)
	must(t, err)
	_, err = lc.AcquireLease(cx, 15, nil)
	must(t, err)
	_, err = bc.Upload(cx, body([]byte("v2")), nil)
	wantCode(t, err, bloberror.LeaseIDMissing)
	other, _ := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("00000000-0000-0000-0000-000000000001")})
	_, err = other.AcquireLease(cx, 15, nil)
	wantCode(t, err, bloberror.LeaseAlreadyPresent)
	_, err = bc.Upload(cx, body([]byte("v2")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("00000000-0000-0000-0000-000000000001")}}})
	wantCode(t, err, bloberror.LeaseIDMismatchWithBlobOperation)
	_, err = bc.Upload(cx, body([]byte("v2")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}})
	must(t, err)
	p, err := bc.GetProperties(cx, nil)
	must(t, err)
	if *p.LeaseState != lease.StateTypeLeased || *p.LeaseStatus != lease.StatusTypeLocked {
		t.Fatalf("lease state %v %v", *p.LeaseState, *p.LeaseStatus)
	}
	_, err = lc.RenewLease(cx, nil)
	must(t, err)
	newID := "11111111-2222-3333-4444-555555555555"
	_, err = lc.ChangeLease(cx, newID, nil)
	must(t, err)
	_, err = lc.BreakLease(cx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr(int32(0))})
	must(t, err)
	p, err = bc.GetProperties(cx, nil)
	must(t, err)
	if *p.LeaseState != lease.StateTypeBroken {
		t.Fatalf("after break: %v", *p.LeaseState)
	}
	_, err = lc.RenewLease(cx, nil)
	wantCode(t, err, bloberror.LeaseIsBrokenAndCannotBeRenewed)
	_, err = lc.ReleaseLease(cx, nil)
	must(t, err)

	// snapshots keep old content while the blob moves on
	snap, err := bc.CreateSnapshot(cx, nil)
	must(t, err)
	_, err = bc.Upload(cx, body([]byte("v3")), nil)
	must(t, err)
	sc, err := bc.WithSnapshot(*snap.Snapshot)
	must(t, err)
	if got := download(t, sc.BlobClient(), nil); string(got) != "v2" {
		t.Fatalf("snapshot content %q", got)
	}
	if got := download(t, bc.BlobClient(), nil); string(got) != "v3" {
		t.Fatalf("live content %q", got)
	}
	var listed []string
	fp := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	for fp.More() {
		pg, err := fp.NextPage(cx)
		must(t, err)
		for _, it := range pg.Segment.BlobItems {
			s := ""
			if it.Snapshot != nil {
				s = "@snap"
			}
			listed = append(listed, *it.Name+s)
		}
	}
	if fmt.Sprint(listed) != "[leased@snap leased]" {
		t.Fatalf("listing with snapshots: %v", listed)
	}
	_, err = bc.Delete(cx, nil)
	wantCode(t, err, bloberror.SnapshotsPresent)

	// copy within the server, from the snapshot and from the live blob
	cp, err := cc.NewBlobClient("copy").StartCopyFromURL(cx, sc.URL(), nil)
	must(t, err)
	if *cp.CopyStatus != blob.CopyStatusTypeSuccess {
		t.Fatalf("copy status %v", *cp.CopyStatus)
	}
	if got := download(t, cc.NewBlobClient("copy"), nil); string(got) != "v2" {
		t.Fatalf("copied content %q", got)
	}
	_, err = cc.NewBlobClient("copy2").StartCopyFromURL(cx, cc.NewBlobClient("missing").URL(), nil)
	wantCode(t, err, bloberror.CannotVerifyCopySource)

	_, err = bc.Delete(cx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
	must(t, err)
	_, err = sc.GetProperties(cx, nil)
	wantCode(t, err, bloberror.BlobNotFound)
}

func TestGoAppendAndPageBlobs(t *testing.T) {
	ts := startServer(t)
	c := ts.client(t)
	cx := ctx(t)
	_, err := c.CreateContainer(cx, "apb", nil)
	must(t, err)
	cc := c.ServiceClient().NewContainerClient("apb")

	ab := cc.NewAppendBlobClient("log")
	_, err = ab.Create(cx, nil)
	must(t, err)
	var want []byte
	for i := 0; i < 5; i++ {
		chunk := pattern(1000+i*70000, fmt.Sprint("chunk", i))
		resp, err := ab.AppendBlock(cx, body(chunk), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(int64(len(want)))}})
		must(t, err)
		if *resp.BlobAppendOffset != fmt.Sprint(len(want)) {
			t.Fatalf("append offset %s", *resp.BlobAppendOffset)
		}
		want = append(want, chunk...)
	}
	_, err = ab.AppendBlock(cx, body([]byte("x")), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr(int64(3))}})
	wantCode(t, err, bloberror.AppendPositionConditionNotMet)
	_, err = ab.AppendBlock(cx, body([]byte("x")), &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: to.Ptr(int64(10))}})
	wantCode(t, err, bloberror.MaxBlobSizeConditionNotMet)
	if got := download(t, ab.BlobClient(), nil); !bytes.Equal(got, want) {
		t.Fatal("append blob content differs")
	}
	if got := download(t, ab.BlobClient(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 70500, Count: 80000}}); !bytes.Equal(got, want[70500:150500]) {
		t.Fatal("append blob range differs")
	}
	p, err := ab.GetProperties(cx, nil)
	must(t, err)
	if *p.BlobCommittedBlockCount != 5 || *p.BlobType != blob.BlobTypeAppendBlob {
		t.Fatalf("append props: %+v", p)
	}
	// a block blob operation on an append blob is refused
	_, err = cc.NewBlockBlobClient("log").StageBlock(cx, b64("x"), body([]byte("x")), nil)
	if err == nil {
		t.Log("stage block on an append blob accepted (held until commit)")
	}

	pb := cc.NewPageBlobClient("disk")
	_, err = pb.Create(cx, 8192, nil)
	must(t, err)
	pageA := pattern(1024, "A")
	pageB := pattern(512, "B")
	_, err = pb.UploadPages(cx, body(pageA), blob.HTTPRange{Offset: 0, Count: 1024}, nil)
	must(t, err)
	_, err = pb.UploadPages(cx, body(pageB), blob.HTTPRange{Offset: 4096, Count: 512}, nil)
	must(t, err)
	_, err = pb.UploadPages(cx, body(pageB), blob.HTTPRange{Offset: 512, Count: 512}, nil) // overwrite second page of A
	must(t, err)
	_, err = pb.ClearPages(cx, blob.HTTPRange{Offset: 0, Count: 512}, nil)
	must(t, err)
	got := download(t, pb.BlobClient(), nil)
	want = make([]byte, 8192)
	copy(want[512:], pageB)
	copy(want[4096:], pageB)
	if !bytes.Equal(got, want) {
		t.Fatal("page blob content differs")
	}
	var ranges []string
	rp := pb.NewGetPageRangesPager(nil)
	for rp.More() {
		pg, err := rp.NextPage(cx)
		must(t, err)
		for _, r := range pg.PageRange {
			ranges = append(ranges, fmt.Sprintf("%d-%d", *r.Start, *r.End))
		}
	}
	if fmt.Sprint(ranges) != "[512-1023 4096-4607]" {
		t.Fatalf("page ranges %v", ranges)
	}
	_, err = pb.UploadPages(cx, body(pageB[:100]), blob.HTTPRange{Offset: 0, Count: 100}, nil)
	if err == nil {
		t.Fatal("unaligned page write accepted")
	}
	_, err = pb.Resize(cx, 1024, nil)
	must(t, err)
	got = download(t, pb.BlobClient(), nil)
	if len(got) != 1024 || !bytes.Equal(got[512:], pageB) {
		t.Fatal("page blob after resize differs")
	}
}

func azETag(s string) azcore.ETag { return azcore.ETag(s) }

// meta reads a metadata value by case-insensitive name: Go's HTTP client
// canonicalises header names, so the SDK returns "Owner" for "owner".
func meta(m map[string]*string, name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) && v != nil {
			return *v
		}
	}
	return ""
}

// listHierarchy pages through a "/"-delimited listing: blob names, prefixes.
func listHierarchy(t testing.TB, cc *container.Client, o *container.ListBlobsHierarchyOptions) (items, prefixes []string) {
	t.Helper()
	hp := cc.NewListBlobsHierarchyPager("/", o)
	for hp.More() {
		pg, err := hp.NextPage(ctx(t))
		must(t, err)
		for _, it := range pg.Segment.BlobItems {
			items = append(items, *it.Name)
		}
		for _, p := range pg.Segment.BlobPrefixes {
			prefixes = append(prefixes, *p.Name)
		}
	}
	return items, prefixes
}
