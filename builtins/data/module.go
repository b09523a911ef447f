// Package data is the `data` module of dadash scripts: the DML benchmarks
// in their usual on-disk layouts (CUB-200-2011, Cars196, Stanford Online
// Products, In-Shop, Fashion-MNIST, any folder of class folders), synthetic
// look-alikes, class-balanced and plain samplers, torchvision-compatible
// transforms, and a parallel loader that yields torch tensors.
package data

import (
	"fmt"
	"os"
	"runtime"

	"go.starlark.net/starlark"

	"github.com/dadash/dadash/builtins/data/imgproc"
	"github.com/dadash/dadash/builtins/torch"
	"github.com/dadash/dadash/internal/sandbox"
	"github.com/dadash/dadash/lang"
)

// Module is the data module value.
var Module *torch.Namespace

var (
	imagenetMean    = []float64{0.485, 0.456, 0.406}
	imagenetStd     = []float64{0.229, 0.224, 0.225}
	bninceptionMean = []float64{104, 117, 128} // BGR, 0..255
	bninceptionStd  = []float64{1, 1, 1}
)

func floatsValue(v []float64) *starlark.List {
	out := make([]starlark.Value, len(v))
	for i, f := range v {
		out[i] = starlark.Float(f)
	}
	return starlark.NewList(out)
}

func init() {
	fn := lang.Func
	members := starlark.StringDict{
		"cub200":          fn("data.cub200", docCUB, datasetFn("data.cub200", "cub200", loadCUB)),
		"cars196":         fn("data.cars196", docCars, datasetFn("data.cars196", "cars196", loadCars)),
		"online_products": fn("data.online_products", docSOP, datasetFn("data.online_products", "online_products", loadSOP)),
		"inshop":          fn("data.inshop", docInShop, datasetFn("data.inshop", "inshop", loadInShop)),
		"fashion_mnist":   fn("data.fashion_mnist", docFashion, fnFashionMNIST),
		"glyphs":          fn("data.glyphs", docGlyphs, fnGlyphs),
		"image_folder":    fn("data.image_folder", "data.image_folder(root, transform=None): a dataset of root/<class>/<image> (.jpg, .jpeg, .png), classes sorted by folder name, labels 0..n-1.", fnImageFolder),
		"make_synthetic":  fn("data.make_synthetic", docSynthetic, fnMakeSynthetic),
		"read_image":      fn("data.read_image", docReadImage, fnReadImage),

		"class_balanced_sampler": fn("data.class_balanced_sampler", docClassBalanced, fnClassBalanced),
		"random_sampler":         fn("data.random_sampler", "data.random_sampler(dataset, seed=0): a random permutation of the dataset each epoch (a function of seed and epoch).", fnRandomSampler),
		"sequential_sampler":     fn("data.sequential_sampler", "data.sequential_sampler(dataset, num_replicas=None, rank=None): the indices in order (for evaluation); with num_replicas, rank's contiguous part of them (rank r takes [r*N//num_replicas, (r+1)*N//num_replicas)), so that the parts gathered in rank order are the whole split.", fnSequentialSampler),

		"compose":                fn("data.compose", "data.compose(transforms): one transform applying a list of transforms in order (a plain list works wherever a transform is expected).", fnCompose),
		"random_resized_crop":    fn("data.random_resized_crop", docRRC, fnRandomResizedCrop),
		"random_horizontal_flip": fn("data.random_horizontal_flip", "data.random_horizontal_flip(p=0.5): mirrors the image left to right with probability p.", fnFlip),
		"resize":                 fn("data.resize", "data.resize(size): bilinear resize with Pillow's antialiasing; an int sets the shorter side (keeping the aspect ratio), (h, w) both sides.", fnResize),
		"center_crop":            fn("data.center_crop", "data.center_crop(size): the central size (int or (h, w)) region, padded with black if the image is smaller (torchvision's CenterCrop).", fnCenterCrop),
		"to_tensor":              fn("data.to_tensor", "data.to_tensor(scale=1.0): uint8 HWC image to float32 (C, H, W) in [0, scale] (scale=255 keeps the 0..255 range BN-Inception expects).", fnToTensor),
		"normalize":              fn("data.normalize", "data.normalize(mean, std): (x - mean) / std per channel of a tensor (after to_tensor); e.g. data.normalize(data.IMAGENET_MEAN, data.IMAGENET_STD).", fnNormalize),
		"grayscale_to_rgb":       fn("data.grayscale_to_rgb", "data.grayscale_to_rgb(): repeats a gray image into three channels (RGB images pass unchanged). Image files are always decoded to RGB; Fashion-MNIST is gray.", fnGrayToRGB),
		"rgb_to_bgr":             fn("data.rgb_to_bgr", "data.rgb_to_bgr(): swaps the first and third channels (BN-Inception's Caffe weights expect BGR).", fnRGBToBGR),
		"color_jitter":           fn("data.color_jitter", docColorJitter, fnColorJitter),
		"auto_augment":           fn("data.auto_augment", docAutoAugment, fnAutoAugment),
		"train_transform":        fn("data.train_transform", docTrainTransform, fnTrainTransform),
		"eval_transform":         fn("data.eval_transform", docEvalTransform, fnEvalTransform),

		"loader": fn("data.loader", docLoader, fnLoader),

		"IMAGENET_MEAN":    floatsValue(imagenetMean),
		"IMAGENET_STD":     floatsValue(imagenetStd),
		"BNINCEPTION_MEAN": floatsValue(bninceptionMean),
		"BNINCEPTION_STD":  floatsValue(bninceptionStd),
	}
	for _, v := range members {
		v.Freeze()
	}
	Module = torch.NewNamespace("data", "-", docModule, members)
	lang.Register(lang.Module{Name: "data", Value: Module, Doc: docModule})
	lang.SetDoc("data.Dataset", "A split of a dataset: len(ds); ds[i] is (image, label) through ds.transform; attributes name, split, root, num_classes, classes, labels (int64 tensor), targets (list), paths, class_indices; ds.with_transform(t), ds.subset(indices).")
	lang.SetDoc("data.Datasets", "The splits of a dataset as attributes (ds.train, ds.test; In-Shop: ds.train, ds.query, ds.gallery); ds.splits lists them.")
	lang.SetDoc("data.Transform", "An image transform: t(image, seed=0) applies it to a uint8 (C, H, W) tensor; t.steps lists its operations.")
	lang.SetDoc("data.Sampler", "Orders a dataset per epoch (a function of seed and epoch): len(), iteration over the current epoch, set_epoch, state_dict, load_state_dict.")
	lang.SetDoc("data.Loader", docLoader)
}

const docModule = `data: DML datasets, samplers, transforms and a parallel loader.

Datasets (the layouts of DADA's reference; each returns .train/.test splits, In-Shop .train/.query/.gallery,
or one split with split=): cub200, cars196, online_products, inshop, fashion_mnist, glyphs, image_folder;
make_synthetic writes tiny look-alikes of them.
Samplers: class_balanced_sampler (DADA's default), random_sampler, sequential_sampler.
Transforms (torchvision's, on Pillow-exact pixels): random_resized_crop, random_horizontal_flip, resize,
center_crop, to_tensor, normalize, grayscale_to_rgb, rgb_to_bgr, color_jitter, auto_augment, compose;
presets train_transform("base"|"auto") and eval_transform(); IMAGENET_MEAN/STD, BNINCEPTION_MEAN/STD.
Loader: data.loader(ds, batch_size, sampler=..., transform=...) yields (images, labels, indices) tensors:
    for images, labels, idx in loader: ...`

const docCUB = `data.cub200(source_path, split=None, transform=None)

CUB-200-2011 in <source_path>/cub200/images/<NNN.Class_Name>/*.jpg (source_path may also be the
cub200 folder). Classes in number order; the first half (1-100) is .train, the rest (101-200) .test,
each labelled 0..99. With split="train" or "test", that split alone.`

const docCars = `data.cars196(source_path, split=None, transform=None)

Cars196 in <source_path>/cars196/images/<Make Model Year>/*.jpg. Classes sorted by name; the first
98 are .train, the last 98 .test, each labelled 0..97.`

const docSOP = `data.online_products(source_path, split=None, transform=None)

Stanford Online Products: <source_path>/online_products/Info_Files/Ebay_train.txt and Ebay_test.txt
(header "image_id class_id super_class_id path"), images under online_products/images/<path>.
Class ids are relabelled 0..n-1 in order within each split.`

const docInShop = `data.inshop(source_path, split=None, transform=None)

DeepFashion In-Shop: <source_path>/inshop/list_eval_partition.txt (or Eval/list_eval_partition.txt:
a count line, the header "image_name item_id evaluation_status", then one line per image), images
under inshop/img/. Splits .train, .query, .gallery; item ids are relabelled 0..n-1 in id order,
train on its own, query and gallery with one shared mapping.`

const docFashion = `data.fashion_mnist(root="/usr/share/datasets/fashion-mnist", split=None, classes=None, file=None, transform=None)

Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist; .gz or not), 28x28 gray images kept in
memory. DADA's zero-shot protocol: .train = classes 0-4 of the training file (30,000 images),
.test = classes 5-9 of the t10k file (5,000 images), each labelled 0..4. With split= one split;
classes=[...] and file="train"|"t10k" change what that split holds (labels follow the order of classes).
Images are gray: put data.grayscale_to_rgb() in the transform for RGB models.`

const docSynthetic = `data.make_synthetic(root, layout="cub200", classes=8, per_class=6, size=(64, 48), seed=0)

Writes a tiny dataset in a real layout under root (layout: cub200, cars196, online_products, inshop,
image_folder): JPEG images whose colours, stripes and blob position depend on the class (learnable),
plus the index files. Returns root, to pass to the dataset function: data.cub200(data.make_synthetic(d)).`

const docClassBalanced = `data.class_balanced_sampler(dataset, batch_size, samples_per_class, seed=0, num_replicas=None, rank=None)

DADA's sampler: len(dataset) // batch_size batches an epoch, each of batch_size / samples_per_class
classes drawn uniformly with replacement and samples_per_class images of each (distinct unless the
class has fewer). batch_size must be a multiple of samples_per_class.

Data-parallel training (torch's DistributedSampler names): with num_replicas = dist.get_world_size()
and rank = dist.get_rank(), every process draws the same global batches of batch_size and keeps its
contiguous part, rank r the items [r*batch_size//num_replicas, (r+1)*batch_size//num_replicas), so
the parts never overlap and, gathered in rank order (dist.nn.all_gather_cat), are exactly the
single-process batch. A loader over it yields the parts; its batch_size and state stay the global
ones, so a run resumes with another number of processes. Augmentations are keyed by the
single-process position, so they are the same for any number of processes.`

const docRRC = `data.random_resized_crop(size, scale=(0.08, 1.0), ratio=(3/4, 4/3))

torchvision's RandomResizedCrop: up to ten tries at a region of area fraction uniform in scale and
log-uniform aspect ratio in ratio, else the centre crop clamped to ratio; resized (bilinear,
antialiased) to size (int or (h, w)). A JPEG not yet decoded has only the region's rows and columns
decoded (the same pixels), at 1/2..1/8 size when the region is that much bigger than size
(dct_scaling=True, the loader's default).`

const docColorJitter = `data.color_jitter(brightness=0, contrast=0, saturation=0, hue=0)

torchvision's ColorJitter: the four adjustments in random order, factors uniform in
[max(0, 1 - v), 1 + v] (a (min, max) pair also works) and hue in [-hue, hue] (hue <= 0.5).`

const docAutoAugment = `data.auto_augment(policy="imagenet")

torchvision's AutoAugment with the ImageNet policy (25 sub-policies of two operations), nearest
interpolation, black fill; the operations reproduce Pillow's.`

const docTrainTransform = `data.train_transform(kind="base", size=224, norm="imagenet")

DADA's training augmentation. "base": random_resized_crop(size), random_horizontal_flip(),
to_tensor(), normalize(IMAGENET_MEAN, IMAGENET_STD); "auto" puts auto_augment() first. norm="bninception"
ends with to_tensor(scale=255), rgb_to_bgr(), normalize(BNINCEPTION_MEAN, BNINCEPTION_STD) instead, as
the reference does for BN-Inception. Gray images are made RGB first.`

const docEvalTransform = `data.eval_transform(resize=256, crop=224, norm="imagenet")

DADA's evaluation transform: resize(resize) (shorter side), center_crop(crop), to_tensor(), normalize.`

const docReadImage = `data.read_image(path, max_pixels=89478485)

Decodes a JPEG or PNG file into a uint8 RGB tensor (3, H, W). A file declaring more than max_pixels
pixels (width x height; PIL's decompression-bomb limit by default) is refused before anything is
allocated; max_pixels=None lifts the limit for trusted files.`

const docLoader = `data.loader(dataset, batch_size=None, sampler=None, transform=None, workers=<cores>, prefetch=2,
            seed=0, drop_last=False, skip_bad=False, max_bad_fraction=0.01, max_pixels=89478485,
            shuffle=False, dct_scaling=True)

Iterating it runs an epoch: for images, labels, indices in loader: ... (float32 (B, C, H, W) images,
int64 labels and dataset indices). Each for loop runs the next epoch (loader.epoch; set_epoch(e) to
choose). sampler: a class_balanced_sampler (which sets the batch size), random_sampler or
sequential_sampler (default: sequential, or random with shuffle=True); transform defaults to the
dataset's. workers goroutines decode and augment up to prefetch batches ahead; the batches are the
same for every worker count (augmentations are keyed by seed, epoch, position and index). workers=0
loads in the loop itself. A bad image (unreadable, corrupt, or declaring more than max_pixels pixels:
PIL's decompression-bomb limit by default, None for none) is an error naming the file, or is skipped
when skip_bad=True: the first few are described as they happen, each epoch that skipped any ends with
a warning giving the count and the first files, and an epoch that skips more than max_bad_fraction of
its images stops the loop with an error. len(loader) is the number of batches; loader.stats() (also
skipped, skipped_files) and loader.wait_seconds tell how long the loop waited for data; state_dict/load_state_dict resume mid-epoch; loader.batch(k) and loader.indices()
look at an epoch without iterating.`

// ---------------------------------------------------------------- datasets

func datasetFn(qual, name string, load func(string) (string, []split, error)) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var source, sp string
		var tv starlark.Value
		if err := starlark.UnpackArgs(qual, args, kwargs, "source_path", &source, "split?", &sp, "transform?", &tv); err != nil {
			return nil, err
		}
		if err := sandbox.Read(thread, qual, source); err != nil {
			return nil, err
		}
		tr, err := transformArg(qual, tv)
		if err != nil {
			return nil, err
		}
		root, splits, err := load(source)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", qual, err)
		}
		for _, s := range splits {
			if err := sandbox.Listed(thread, qual, root, s.paths); err != nil {
				return nil, err
			}
		}
		return newGroup(thread, name, root, splits, tr).pick(qual, sp)
	}
}

func fnImageFolder(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var root string
	var tv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "root", &root, "transform?", &tv); err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), root); err != nil {
		return nil, err
	}
	tr, err := transformArg(b.Name(), tv)
	if err != nil {
		return nil, err
	}
	splits, err := loadImageFolder(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return newDataset(thread, "image_folder", root, splits[0], tr), nil
}

func fnFashionMNIST(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	root := DefaultFashionMNIST
	var sp, file string
	var cv, tv starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "root?", &root, "split?", &sp, "classes?", &cv, "file?", &file, "transform?", &tv); err != nil {
		return nil, err
	}
	if root != DefaultFashionMNIST { // Debian's copy is public data, readable by any run
		if err := sandbox.Read(thread, b.Name(), root); err != nil {
			return nil, err
		}
	}
	tr, err := transformArg(b.Name(), tv)
	if err != nil {
		return nil, err
	}
	defaults := map[string]struct {
		file    string
		classes []int
	}{"train": {"train", []int{0, 1, 2, 3, 4}}, "test": {"t10k", []int{5, 6, 7, 8, 9}}}
	if sp == "" && (file != "" || (cv != nil && cv != starlark.None)) {
		return nil, fmt.Errorf("%s: classes= and file= say what one split holds; give split=\"train\" or \"test\" too", b.Name())
	}
	names := []string{"train", "test"}
	if sp != "" {
		if _, ok := defaults[sp]; !ok {
			return nil, fmt.Errorf("%s: no split %q (the splits are train, test)", b.Name(), sp)
		}
		names = []string{sp}
	}
	if file != "" && file != "train" && file != "t10k" {
		return nil, fmt.Errorf("%s: file must be \"train\" or \"t10k\", got %q", b.Name(), file)
	}
	var sets []*Dataset
	for _, n := range names {
		d := defaults[n]
		if file != "" {
			d.file = file
		}
		if cv != nil && cv != starlark.None {
			if d.classes, err = intsArg(b.Name(), "classes", cv); err != nil {
				return nil, err
			}
		}
		s, pix, wh, err := loadFashion(root, d.file, d.classes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		s.name = n
		ds := newDataset(thread, "fashion_mnist", root, s, tr)
		ds.mem, ds.memW, ds.memH = pix, wh[0], wh[1]
		sets = append(sets, ds)
	}
	if sp != "" {
		return sets[0], nil
	}
	return &Group{name: "fashion_mnist", root: root, order: names, splits: map[string]*Dataset{"train": sets[0], "test": sets[1]}}, nil
}

func fnMakeSynthetic(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var root string
	layout := "cub200"
	classes, per, seed := 8, 6, 0
	var sizeV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "root", &root, "layout?", &layout, "classes?", &classes, "per_class?", &per, "size?", &sizeV, "seed?", &seed); err != nil {
		return nil, err
	}
	if err := sandbox.Write(thread, b.Name(), root); err != nil {
		return nil, err
	}
	w, h := 64, 48
	if sizeV != nil && sizeV != starlark.None {
		p, err := pairArg(b.Name(), "size", sizeV)
		if err != nil {
			return nil, err
		}
		w, h = int(p[0]), int(p[1])
	}
	switch {
	case classes < 2:
		return nil, fmt.Errorf("%s: classes must be at least 2 (half train, half test), got %d", b.Name(), classes)
	case per < 1:
		return nil, fmt.Errorf("%s: per_class must be at least 1, got %d", b.Name(), per)
	case layout == "inshop" && per < 2:
		return nil, fmt.Errorf("%s: the inshop layout needs per_class >= 2 (test items need a query and a gallery image)", b.Name())
	case w < 1 || h < 1 || w > 4096 || h > 4096:
		return nil, fmt.Errorf("%s: size (w, h) must be between 1 and 4096, got (%d, %d)", b.Name(), w, h)
	}
	s := &synthetic{root: root, classes: classes, per: per, w: w, h: h, seed: uint64(seed)}
	if err := s.make(layout); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.String(root), nil
}

// maxPixelsArg reads a max_pixels= argument: a positive int, or None for
// no limit (-1).
func maxPixelsArg(fn string, v starlark.Value) (int64, error) {
	switch v := v.(type) {
	case nil:
		return imgproc.DefaultMaxPixels, nil
	case starlark.NoneType:
		return -1, nil
	case starlark.Int:
		if n, ok := v.Int64(); ok && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: max_pixels must be a positive int (width x height) or None for no limit, got %s", fn, v)
}

func fnReadImage(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var mpV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "max_pixels?", &mpV); err != nil {
		return nil, err
	}
	maxPixels, err := maxPixelsArg(b.Name(), mpV)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Read(thread, b.Name(), path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read %s: %v", b.Name(), path, unwrapPath(err))
	}
	m, err := imgproc.Decode(data, imgproc.Options{MaxPixels: maxPixels})
	if err != nil {
		return nil, decodeError(path, err)
	}
	return sampleTensor(&sample{img: m})
}

// ---------------------------------------------------------------- samplers

func datasetArg(fn string, v starlark.Value) (*Dataset, error) {
	d, ok := v.(*Dataset)
	if !ok {
		if _, isGroup := v.(*Group); isGroup {
			return nil, fmt.Errorf("%s: got all splits of %s; pick one, e.g. ds.train", fn, v)
		}
		return nil, fmt.Errorf("%s: expected a dataset (e.g. data.cub200(path).train), got %s", fn, v.Type())
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("%s: %s has no images", fn, d.desc())
	}
	return d, nil
}

func fnClassBalanced(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv starlark.Value
	var bs, spc int
	var seed uint64
	var replicasV, rankV starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dataset", &dv, "batch_size", &bs, "samples_per_class", &spc, "seed?", &seed,
		"num_replicas?", &replicasV, "rank?", &rankV); err != nil {
		return nil, err
	}
	replicas, rank, err := shardArgs(b.Name(), replicasV, rankV)
	if err != nil {
		return nil, err
	}
	d, err := datasetArg(b.Name(), dv)
	if err != nil {
		return nil, err
	}
	if replicas > bs {
		return nil, fmt.Errorf("%s: batch_size %d is smaller than num_replicas %d: every process needs a part of each batch", b.Name(), bs, replicas)
	}
	if bs <= 0 || spc <= 0 {
		return nil, fmt.Errorf("%s: batch_size (%d) and samples_per_class (%d) must be positive", b.Name(), bs, spc)
	}
	if bs%spc != 0 {
		return nil, fmt.Errorf("%s: batch_size %d is not a multiple of samples_per_class %d", b.Name(), bs, spc)
	}
	if bs > d.Len() {
		return nil, fmt.Errorf("%s: batch_size %d is larger than %s (%d images): an epoch would have no batch", b.Name(), bs, d.desc(), d.Len())
	}
	return &Sampler{kind: "class_balanced", dataset: d.desc(), n: d.Len(), byClass: d.byClass, batchSize: bs, spc: spc, seed: seed,
		replicas: replicas, rank: rank}, nil
}

// shardArgs reads num_replicas and rank (torch's DistributedSampler names;
// None: one process). They are explicit, not taken from dist, so that a
// sampler means the same thing however the script was started.
func shardArgs(fn string, replicasV, rankV starlark.Value) (replicas, rank int, err error) {
	replicas = 1
	if replicasV != starlark.None {
		if replicas, err = starlark.AsInt32(replicasV); err != nil || replicas < 1 {
			return 0, 0, fmt.Errorf("%s: num_replicas must be a positive int (e.g. dist.get_world_size()), got %s", fn, replicasV)
		}
	}
	if rankV != starlark.None {
		if rank, err = starlark.AsInt32(rankV); err != nil {
			return 0, 0, fmt.Errorf("%s: rank must be an int (e.g. dist.get_rank()), got %s", fn, rankV)
		}
	}
	if rank < 0 || rank >= replicas {
		return 0, 0, fmt.Errorf("%s: Invalid rank %d, rank should be in the interval [0, %d]", fn, rank, replicas-1)
	}
	return replicas, rank, nil
}

func fnRandomSampler(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv starlark.Value
	var seed uint64
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dataset", &dv, "seed?", &seed); err != nil {
		return nil, err
	}
	d, err := datasetArg(b.Name(), dv)
	if err != nil {
		return nil, err
	}
	return &Sampler{kind: "random", dataset: d.desc(), n: d.Len(), seed: seed}, nil
}

func fnSequentialSampler(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv starlark.Value
	var replicasV, rankV starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dataset", &dv, "num_replicas?", &replicasV, "rank?", &rankV); err != nil {
		return nil, err
	}
	replicas, rank, err := shardArgs(b.Name(), replicasV, rankV)
	if err != nil {
		return nil, err
	}
	d, err := datasetArg(b.Name(), dv)
	if err != nil {
		return nil, err
	}
	return &Sampler{kind: "sequential", dataset: d.desc(), n: d.Len(), replicas: replicas, rank: rank}, nil
}

// ---------------------------------------------------------------- loader

func fnLoader(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dv, bsV, sv, tv, wv, mpV starlark.Value
	prefetch := 2
	var seed uint64
	var dropLast, skipBad, shuffle bool
	dct := true
	maxBad := number(0.01)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dataset", &dv, "batch_size?", &bsV, "sampler?", &sv, "transform?", &tv,
		"workers?", &wv, "prefetch?", &prefetch, "seed?", &seed, "drop_last?", &dropLast, "skip_bad?", &skipBad,
		"max_bad_fraction?", &maxBad, "max_pixels?", &mpV, "shuffle?", &shuffle, "dct_scaling?", &dct); err != nil {
		return nil, err
	}
	d, err := datasetArg(b.Name(), dv)
	if err != nil {
		return nil, err
	}
	if maxBad < 0 || maxBad > 1 || maxBad != maxBad {
		return nil, fmt.Errorf("%s: max_bad_fraction must lie in [0, 1], got %g", b.Name(), float64(maxBad))
	}
	maxPixels, err := maxPixelsArg(b.Name(), mpV)
	if err != nil {
		return nil, err
	}
	l := &Loader{thread: thread, ds: d, transform: d.transform, prefetch: prefetch, seed: seed, dropLast: dropLast, skipBad: skipBad,
		maxBad: float64(maxBad), opt: decodeOpts{dct: dct, maxPixels: maxPixels}, workers: runtime.NumCPU()}
	if tv != nil && tv != starlark.None {
		if l.transform, err = transformArg(b.Name(), tv); err != nil {
			return nil, err
		}
	}
	if wv != nil && wv != starlark.None {
		w, err := starlark.AsInt32(wv)
		if err != nil || w < 0 {
			return nil, fmt.Errorf("%s: workers must be an int >= 0 (0 loads in the loop itself), got %s", b.Name(), wv)
		}
		l.workers = w
	}
	if prefetch < 1 {
		return nil, fmt.Errorf("%s: prefetch must be at least 1, got %d", b.Name(), prefetch)
	}
	batchSize := 0
	if bsV != nil && bsV != starlark.None {
		v, err := starlark.AsInt32(bsV)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: batch_size must be a positive int, got %s", b.Name(), bsV)
		}
		batchSize = v
	}
	switch s := sv.(type) {
	case nil, starlark.NoneType:
		kind := "sequential"
		if shuffle {
			kind = "random"
		}
		l.sampler = &Sampler{kind: kind, dataset: d.desc(), n: d.Len(), seed: seed}
	case *Sampler:
		if shuffle {
			return nil, fmt.Errorf("%s: give either sampler= or shuffle=True, not both", b.Name())
		}
		if s.n != d.Len() || s.dataset != d.desc() {
			return nil, fmt.Errorf("%s: the sampler is for %s (%d images), the dataset %s has %d", b.Name(), s.dataset, s.n, d.desc(), d.Len())
		}
		l.sampler = s
	default:
		return nil, fmt.Errorf("%s: sampler must be a data sampler (e.g. data.class_balanced_sampler(...)), got %s", b.Name(), sv.Type())
	}
	if l.sampler.batchSampler() {
		if batchSize != 0 && batchSize != l.sampler.batchSize {
			return nil, fmt.Errorf("%s: batch_size=%d but the class-balanced sampler makes batches of %d; leave batch_size out", b.Name(), batchSize, l.sampler.batchSize)
		}
		batchSize = l.sampler.batchSize
	} else if batchSize == 0 {
		return nil, fmt.Errorf("%s: give batch_size (only a class_balanced_sampler sets it)", b.Name())
	}
	l.batchSize = batchSize
	return l, nil
}
