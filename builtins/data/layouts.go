package data

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Where each benchmark can be obtained, for the error messages of a
// missing or malformed layout.
const (
	cubSource   = "CUB-200-2011 is at https://www.vision.caltech.edu/datasets/cub_200_2011/"
	carsSource  = "Stanford Cars is at https://ai.stanford.edu/~jkrause/cars/car_dataset.html (mirrors: search 'stanford cars dataset')"
	sopSource   = "Stanford Online Products is at https://cvgl.stanford.edu/projects/lifted_struct/"
	inshopSrc   = "DeepFashion In-Shop is at https://mmlab.ie.cuhk.edu.hk/projects/DeepFashion/InShopRetrieval.html"
	fmnistSrc   = "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or get the files from https://github.com/zalandoresearch/fashion-mnist"
	synthetHint = "or run the recipe with --synthetic"
)

// split is one parsed split before it becomes a Dataset.
type split struct {
	name    string
	classes []string
	labels  []int32
	paths   []string
}

// datasetDir finds <source>/<name>; source may also be that folder itself
// (it then has the layout's first entry, e.g. images/).
func datasetDir(source, name, probe string) string {
	dir := filepath.Join(source, name)
	if _, err := os.Stat(dir); err != nil {
		if _, err := os.Stat(filepath.Join(source, probe)); err == nil {
			return filepath.Clean(source)
		}
	}
	return dir
}

func isImageFile(name string) bool {
	if strings.HasPrefix(name, ".") { // hidden files and macOS "._" resource forks
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// classFolders lists the class sub-folders of dir and the images in each,
// both sorted by name. An empty class folder is an error, as in
// torchvision's ImageFolder.
func classFolders(dir, expect, source string) ([]string, [][]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, fmt.Errorf("no folder %s (expected %s); %s", dir, expect, source)
		}
		return nil, nil, fmt.Errorf("cannot read %s: %v", dir, unwrapPath(err))
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("folder %s has no class sub-folders (expected %s); %s", dir, expect, source)
	}
	sort.Strings(names)
	files := make([][]string, len(names))
	for i, n := range names {
		sub := filepath.Join(dir, n)
		es, err := os.ReadDir(sub)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read %s: %v", sub, unwrapPath(err))
		}
		for _, e := range es {
			if !e.IsDir() && isImageFile(e.Name()) {
				files[i] = append(files[i], filepath.Join(sub, e.Name()))
			}
		}
		if len(files[i]) == 0 {
			return nil, nil, fmt.Errorf("class folder %s has no images (.jpg, .jpeg or .png); remove it or add its images", sub)
		}
		sort.Strings(files[i])
	}
	return names, files, nil
}

// halves splits sorted classes as the reference code does: the first half
// (rounded down) trains, the rest is the zero-shot test set.
func halves(names []string, files [][]string) []split {
	n := len(names) / 2
	mk := func(name string, lo, hi int) split {
		s := split{name: name, classes: names[lo:hi]}
		for c := lo; c < hi; c++ {
			for _, p := range files[c] {
				s.paths = append(s.paths, p)
				s.labels = append(s.labels, int32(c-lo))
			}
		}
		return s
	}
	return []split{mk("train", 0, n), mk("test", n, len(names))}
}

func loadCUB(source string) (string, []split, error) {
	root := datasetDir(source, "cub200", "images")
	dir := filepath.Join(root, "images")
	names, files, err := classFolders(dir, "one sub-folder per class, e.g. 001.Black_footed_Albatross/*.jpg", cubSource+" ; "+synthetHint)
	if err != nil {
		return "", nil, err
	}
	// Classes are ordered by their number (001..200), as the reference
	// sorts them, which is not the name order once numbers lose padding.
	nums := make([]int, len(names))
	for i, n := range names {
		num, _, ok := strings.Cut(n, ".")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return "", nil, fmt.Errorf("class folder %s: CUB class folders are named <number>.<name>, e.g. 001.Black_footed_Albatross", filepath.Join(dir, n))
		}
		nums[i] = v
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return nums[order[a]] < nums[order[b]] })
	sn, sf := make([]string, len(names)), make([][]string, len(names))
	for i, o := range order {
		sn[i], sf[i] = names[o], files[o]
	}
	return root, halves(sn, sf), nil
}

func loadCars(source string) (string, []split, error) {
	root := datasetDir(source, "cars196", "images")
	names, files, err := classFolders(filepath.Join(root, "images"), "one sub-folder per class, e.g. 'AM General Hummer SUV 2000'/*.jpg", carsSource+" ; "+synthetHint)
	if err != nil {
		return "", nil, err
	}
	return root, halves(names, files), nil
}

func loadImageFolder(root string) ([]split, error) {
	names, files, err := classFolders(root, "one sub-folder of images per class", "point data.image_folder at the folder that holds the class folders")
	if err != nil {
		return nil, err
	}
	s := split{name: "all", classes: names}
	for c := range names {
		for _, p := range files[c] {
			s.paths = append(s.paths, p)
			s.labels = append(s.labels, int32(c))
		}
	}
	return []split{s}, nil
}

// lineReader reads an index file with file:line positions for errors.
type lineReader struct {
	path string
	sc   *bufio.Scanner
	line int
	f    *os.File
}

func openIndex(path, expect, source string) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no file %s (expected %s); %s", path, expect, source)
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, unwrapPath(err))
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &lineReader{path: path, sc: sc, f: f}, nil
}

// next returns the fields of the next non-blank line.
func (r *lineReader) next() ([]string, string, bool) {
	for r.sc.Scan() {
		r.line++
		text := strings.TrimRight(r.sc.Text(), "\r")
		if f := strings.Fields(text); len(f) > 0 {
			return f, text, true
		}
	}
	return nil, "", false
}

func (r *lineReader) errorf(text, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s (the line is %q)", r.path, r.line, fmt.Sprintf(format, args...), text)
}

func (r *lineReader) close() error {
	err := r.sc.Err()
	r.f.Close()
	if err != nil {
		return fmt.Errorf("%s: %v", r.path, err)
	}
	return nil
}

// remap gives sorted original ids the labels 0..n-1.
func remap(ids []int) map[int]int32 {
	u := append([]int(nil), ids...)
	sort.Ints(u)
	m := map[int]int32{}
	for _, v := range u {
		if _, ok := m[v]; !ok {
			m[v] = int32(len(m))
		}
	}
	return m
}

func classNames(m map[int]int32, name func(int) string) []string {
	out := make([]string, len(m))
	for id, l := range m {
		out[l] = name(id)
	}
	return out
}

func loadSOP(source string) (string, []split, error) {
	root := datasetDir(source, "online_products", "Info_Files")
	var out []split
	for _, sp := range []string{"train", "test"} {
		path := filepath.Join(root, "Info_Files", "Ebay_"+sp+".txt")
		r, err := openIndex(path, "Stanford Online Products' index with the header 'image_id class_id super_class_id path'", sopSource+" ; "+synthetHint)
		if err != nil {
			return "", nil, err
		}
		head, text, ok := r.next()
		if !ok || strings.Join(head, " ") != "image_id class_id super_class_id path" {
			r.close()
			if !ok {
				return "", nil, fmt.Errorf("%s is empty (expected the header 'image_id class_id super_class_id path' and one line per image)", path)
			}
			return "", nil, r.errorf(text, "expected the header 'image_id class_id super_class_id path'")
		}
		var ids []int
		var paths []string
		for {
			f, text, ok := r.next()
			if !ok {
				break
			}
			if len(f) != 4 {
				r.close()
				return "", nil, r.errorf(text, "expected 4 fields: image_id class_id super_class_id path")
			}
			id, err := strconv.Atoi(f[1])
			if err != nil {
				r.close()
				return "", nil, r.errorf(text, "class_id %q is not an integer", f[1])
			}
			ids = append(ids, id)
			paths = append(paths, f[3])
		}
		if err := r.close(); err != nil {
			return "", nil, err
		}
		if len(ids) == 0 {
			return "", nil, fmt.Errorf("%s lists no images", path)
		}
		// The reference keeps images under images/; the original archive
		// has them next to Info_Files. Accept both.
		imgDir := filepath.Join(root, "images")
		if _, err := os.Stat(filepath.Join(imgDir, paths[0])); err != nil {
			if _, err2 := os.Stat(filepath.Join(root, paths[0])); err2 == nil {
				imgDir = root
			} else {
				return "", nil, fmt.Errorf("no image %s (the first of %s; expected the images under %s/<super_class>_final/); %s", filepath.Join(imgDir, paths[0]), path, imgDir, sopSource)
			}
		}
		m := remap(ids)
		s := split{name: sp, classes: classNames(m, strconv.Itoa)}
		for i, p := range paths {
			s.paths = append(s.paths, filepath.Join(imgDir, p))
			s.labels = append(s.labels, m[ids[i]])
		}
		out = append(out, s)
	}
	return root, out, nil
}

func loadInShop(source string) (string, []split, error) {
	root := datasetDir(source, "inshop", "list_eval_partition.txt")
	path := filepath.Join(root, "list_eval_partition.txt")
	if _, err := os.Stat(path); err != nil {
		if alt := filepath.Join(root, "Eval", "list_eval_partition.txt"); fileExists(alt) {
			path = alt
		}
	}
	const expect = "DeepFashion's list_eval_partition.txt: a count line, the header 'image_name item_id evaluation_status', then one line per image"
	r, err := openIndex(path, expect, inshopSrc+" ; "+synthetHint)
	if err != nil {
		return "", nil, err
	}
	defer r.close()
	f, text, ok := r.next()
	if !ok {
		return "", nil, fmt.Errorf("%s is empty (expected %s)", path, expect)
	}
	count, err := strconv.Atoi(f[0])
	if len(f) != 1 || err != nil {
		return "", nil, r.errorf(text, "expected the number of images on the first line")
	}
	f, text, ok = r.next()
	if !ok || strings.Join(f, " ") != "image_name item_id evaluation_status" {
		return "", nil, r.errorf(text, "expected the header 'image_name item_id evaluation_status'")
	}
	type entry struct {
		path string
		item int
	}
	bySplit := map[string][]entry{}
	n := 0
	for {
		f, text, ok := r.next()
		if !ok {
			break
		}
		if len(f) != 3 {
			return "", nil, r.errorf(text, "expected 3 fields: image_name item_id evaluation_status")
		}
		_, num, _ := strings.Cut(f[1], "_")
		item, err := strconv.Atoi(num)
		if !strings.HasPrefix(f[1], "id_") || err != nil {
			return "", nil, r.errorf(text, "item_id %q is not of the form id_<number>", f[1])
		}
		switch f[2] {
		case "train", "query", "gallery":
		default:
			return "", nil, r.errorf(text, "evaluation_status %q is not train, query or gallery", f[2])
		}
		bySplit[f[2]] = append(bySplit[f[2]], entry{filepath.Join(root, f[0]), item})
		n++
	}
	if err := r.close(); err != nil {
		return "", nil, err
	}
	if n != count {
		return "", nil, fmt.Errorf("%s:1 says %d images but the file lists %d: is it truncated?", path, count, n)
	}
	for _, sp := range []string{"train", "query", "gallery"} {
		if len(bySplit[sp]) == 0 {
			return "", nil, fmt.Errorf("%s lists no %s images", path, sp)
		}
	}
	if first := bySplit["train"][0].path; !fileExists(first) {
		return "", nil, fmt.Errorf("no image %s (the first training image of %s; expected the images under %s/img/); %s", first, path, root, inshopSrc)
	}
	itemName := func(id int) string { return fmt.Sprintf("id_%08d", id) }
	build := func(name string, es []entry, m map[int]int32) split {
		s := split{name: name, classes: classNames(m, itemName)}
		for _, e := range es {
			s.paths = append(s.paths, e.path)
			s.labels = append(s.labels, m[e.item])
		}
		return s
	}
	items := func(sps ...string) []int {
		var ids []int
		for _, sp := range sps {
			for _, e := range bySplit[sp] {
				ids = append(ids, e.item)
			}
		}
		return ids
	}
	// Query and gallery share one mapping of item ids, so that a query's
	// label equals its gallery matches' labels.
	test := remap(items("query", "gallery"))
	return root, []split{
		build("train", bySplit["train"], remap(items("train"))),
		build("query", bySplit["query"], test),
		build("gallery", bySplit["gallery"], test),
	}, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
