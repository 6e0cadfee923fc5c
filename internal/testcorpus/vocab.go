package testcorpus

import "strings"

// person is a correspondent. cs is the charset the display name is encoded
// with in headers ("" = plain ASCII, no encoding needed); ascii is what we
// write into bodies (signatures), so every body charset can carry it.
type person struct {
	name, addr, cs, ascii string
	tz                    int // preferred zone, index into zones
}

var owner = person{name: "Alice Martin", addr: "alice@example.org", ascii: "Alice Martin", tz: zBerlin}

// people is ordered by frequency (the picker is Zipf-like over the index), so
// dmitri@example.net is the most frequent sender: a known search answer.
var people = []person{
	{"Dmitri Volkov", "dmitri@example.net", "", "Dmitri Volkov", zMoscow},
	{"José Müller", "jose.mueller@example.de", "iso-8859-1", "Jose Mueller", zBerlin},
	{"王小明", "wang.xiaoming@example.cn", "gbk", "Wang Xiaoming", zShanghai},
	{"陳大文", "chan.taiman@example.tw", "big5", "Chan Tai-man", zTaipei},
	{"Zoë Ångström", "zoe@example.se", "utf-8", "Zoe Angstrom", zBerlin},
	{"Grace Hopper", "grace@example.com", "", "Grace Hopper", zNewYork},
	{"山田太郎", "taro.yamada@example.jp", "iso-2022-jp", "Yamada Taro", zTokyo},
	{"François Lefèvre", "f.lefevre@example.fr", "iso-8859-1", "Francois Lefevre", zParis},
	{"김민준", "minjun.kim@example.kr", "euc-kr", "Kim Minjun", zSeoul},
	{"Nguyễn Thị Lan", "lan.nguyen@example.vn", "utf-8", "Nguyen Thi Lan", zHanoi},
	{"Ada Lovelace", "ada@example.com", "", "Ada Lovelace", zLondon},
	{"李娜", "li.na@example.cn", "gbk", "Li Na", zShanghai},
	{"Ренат Ахметов", "renat@example.ru", "koi8-r", "Renat Akhmetov", zMoscow},
	{"Søren Kierkegård", "soren@example.dk", "iso-8859-1", "Soren Kierkegaard", zBerlin},
	{"Ελένη Παπαδοπούλου", "eleni@example.gr", "utf-8", "Eleni Papadopoulou", zAthens},
	{"O'Brien, Pat", "pat.obrien@example.ie", "", "Pat O'Brien", zLondon},
	{"林志玲", "lin.chiling@example.tw", "big5", "Lin Chi-ling", zTaipei},
	{"Ken Thompson", "ken@example.com", "", "Ken Thompson", zLosAngeles},
	{"Björn Þórsson", "bjorn@example.is", "iso-8859-1", "Bjorn Thorsson", zLondon},
	{"Rob Pike", "rob@example.com", "", "Rob Pike", zSydney},
	{"Priya Natarajan", "priya@example.in", "", "Priya Natarajan", zKolkata},
	{"Margaret Hamilton", "margaret@example.com", "", "Margaret Hamilton", zNewYork},
	{"Åsa Öberg", "asa.oberg@example.se", "utf-8", "Asa Oberg", zBerlin},
	{"", "noreply@notifications.example.com", "", "Notifications", zUTC},
}

var (
	billingPeople = []person{
		{"Billing Department", "billing@shop.example.com", "", "Billing Department", zUTC},
		{"Stadtwerke München", "rechnung@stadtwerke.example.de", "utf-8", "Stadtwerke Muenchen", zBerlin},
		{"Boutique Été", "factures@boutique.example.fr", "iso-8859-1", "Boutique Ete", zParis},
	}
	reviewPeople = []person{
		{"CI Robot", "ci-noreply@build.example.net", "", "CI Robot", zUTC},
		{"Gerrit Code Review", "noreply-gerrit@go-review.example.com", "", "Gerrit Code Review", zLosAngeles},
		{"Rob Pike", "rob@example.com", "", "Rob Pike", zSydney},
	}
)

// Time zones: offsets in minutes east of UTC, a name for the "(CET)" comment
// form, and whether the zone observes (crudely modelled) northern DST.
type zone struct {
	off  int
	name string
	dst  bool
}

const (
	zUTC = iota
	zBerlin
	zParis
	zLondon
	zMoscow
	zNewYork
	zLosAngeles
	zShanghai
	zTaipei
	zTokyo
	zSeoul
	zHanoi
	zKolkata
	zSydney
	zAthens
	zKathmandu
	zStJohns
	zAuckland
	zHonolulu
)

var zones = []zone{
	zUTC:        {0, "UTC", false},
	zBerlin:     {60, "CET", true},
	zParis:      {60, "CET", true},
	zLondon:     {0, "GMT", true},
	zMoscow:     {180, "MSK", false},
	zNewYork:    {-300, "EST", true},
	zLosAngeles: {-480, "PST", true},
	zShanghai:   {480, "CST", false},
	zTaipei:     {480, "", false},
	zTokyo:      {540, "JST", false},
	zSeoul:      {540, "KST", false},
	zHanoi:      {420, "", false},
	zKolkata:    {330, "IST", false},
	zSydney:     {600, "AEST", false},
	zAthens:     {120, "EET", true},
	zKathmandu:  {345, "", false},
	zStJohns:    {-210, "NST", true},
	zAuckland:   {720, "NZST", false},
	zHonolulu:   {-600, "HST", false},
}

var dstNames = map[string]string{"CET": "CEST", "GMT": "BST", "EST": "EDT", "PST": "PDT", "EET": "EEST", "NST": "NDT"}

// lang describes one body language: vocabulary, how words are joined, the
// charsets it is sent in (label, weight) and a marker phrase that every body
// in that language contains, so tests can check charset decoding.
type lang struct {
	code     string
	words    []string
	sep      string // word separator ("" for Chinese and Japanese)
	width    int    // wrap width in runes
	charsets []csw
	marker   string
	subjects []string
	greeting string
	cjk      bool
}

type csw struct {
	label string
	w     int
}

const (
	lEN = iota
	lDE
	lFR
	lRU
	lZhHans
	lZhHant
	lJA
	lKO
)

var langWeights = []int{lEN: 56, lDE: 9, lFR: 5, lRU: 5, lZhHans: 10, lZhHant: 5, lJA: 5, lKO: 5}

var langs = []lang{
	lEN: {
		code: "en", sep: " ", width: 72,
		words: strings.Fields(`the of and to in is that for it as was with be by on not this are or from at which
but have an they you were she there been one all we their has would when if so no what up out who
them some could more into time only new other than then now its also two after first way because any these
may well should three over year work system data mail server message folder archive migration client
sync index search query thread reply forward attachment report meeting schedule budget review design
storage network latency throughput deploy release version branch commit merge patch build test failure
success account password user customer invoice order shipping payment contract project team manager
engineer document draft proposal summary agenda minutes question answer issue ticket bug feature request
performance memory disk cache queue worker process signal timeout retry backup restore encrypt decrypt
protocol header body charset encoding boundary mailbox mime socket connection session login logout
please thanks regards hello dear best cheers sorry great good nice quick brief long short early late
monday tuesday wednesday thursday friday weekend morning afternoon evening tomorrow yesterday today
january february march april june july august september october november december quarter annual
office remote travel hotel flight train conference workshop talk slides video call phone chat note list`),
		charsets: []csw{{"us-ascii", 50}, {"utf-8", 40}, {"iso-8859-1", 10}},
		marker:   "the migration is complete",
		greeting: "Hi all,",
		subjects: []string{"Quarterly report {n}", "Meeting notes for {d}", "Re-scheduling our call",
			"Build {n} failed on main", "Invoice #{n}", "Lunch on Friday?", "Design review: storage layer",
			"Your order {n} has shipped", "Question about the migration plan", "Draft proposal v{n}",
			"Weekly sync", "Photos from the trip", "Contract renewal {n}", "Flaky test in TestSync{n}",
			"Performance numbers", "Welcome aboard!", "Travel itinerary", "Security advisory {n}",
			"Café meeting ☕ on {d}", "Naïve question about résumé parsing", "Budget “final” – v{n}"},
	},
	lDE: {
		code: "de", sep: " ", width: 72,
		words: strings.Fields(`Sehr geehrte Damen und Herren vielen Dank für Ihre Nachricht die Überweisung wurde heute
ausgeführt bitte prüfen Sie die Größe der Anhänge und schicken Sie mir die Unterlagen bis Freitag
Rechnung Besprechung Übersicht Straße Lösung schön nächste Woche Termin Bestätigung Angebot Gebühr
Zusammenfassung Datenbank Sicherung Server Kunde Vertrag Änderung Grüße`),
		charsets: []csw{{"utf-8", 50}, {"iso-8859-1", 50}},
		marker:   "Die Überweisung ist ausgeführt",
		greeting: "Hallo zusammen,",
		subjects: []string{"Überweisung bestätigt – Rechnung {n}", "Überweisung für März", "Besprechung am {d}",
			"Größe der Datenbank – Zusammenfassung", "Grüße aus München", "Änderung am Vertrag {n}"},
	},
	lFR: {
		code: "fr", sep: " ", width: 72,
		words: strings.Fields(`Bonjour à tous voici le compte rendu de la réunion les données seront migrées après
l'été merci de vérifier les pièces jointes très cordialement à bientôt facture reçu échéance où ça déjà
Noël prochaine semaine rendez-vous équipe serveur sauvegarde client contrat modification`),
		charsets: []csw{{"iso-8859-1", 60}, {"utf-8", 40}},
		marker:   "le compte rendu de la réunion",
		greeting: "Bonjour à tous,",
		subjects: []string{"Réunion à Paris le {d}", "Facture n° {n} – échéance", "Compte rendu de la réunion",
			"Reçu de paiement {n}", "Année {n} : bilan"},
	},
	lRU: {
		code: "ru", sep: " ", width: 72,
		words: strings.Fields(`привет коллеги данные перенесены проверьте пожалуйста вложения и отчёт до пятницы
встреча сервер резервная копия счёт договор спасибо завтра проект сроки бюджет клиент письмо папка
архив поиск индекс ответ вопрос неделя`),
		charsets: []csw{{"utf-8", 50}, {"koi8-r", 50}},
		marker:   "данные перенесены",
		greeting: "Привет, коллеги!",
		subjects: []string{"Привет, как дела?", "Отчёт за квартал {n}", "Встреча в пятницу", "Счёт № {n}"},
	},
	lZhHans: {
		code: "zh-hans", sep: "", width: 36, cjk: true,
		words: strings.Fields(`我们 已经 收到 您的 邮件 关于 项目 进度 的 报告 请在 周五 之前 提交 会议 纪要
谢谢 大家 的 支持 数据 迁移 服务器 备份 客户 合同 预算 测试 版本 发布 问题 附件 明天 下午 开会 讨论
方案 需要 确认 时间 安排 系统 升级 通知 部门 经理 同事 财务 发票 付款 ， 。`),
		charsets: []csw{{"gbk", 45}, {"gb2312", 15}, {"utf-8", 40}},
		marker:   "数据迁移已经完成",
		greeting: "各位好：",
		subjects: []string{"会议纪要 {n}", "关于项目进度的报告 {n}", "会议通知：季度总结", "数据迁移完成通知",
			"发票 {n} 已付款"},
	},
	lZhHant: {
		code: "zh-hant", sep: "", width: 36, cjk: true,
		words: strings.Fields(`我們 已經 收到 您的 郵件 關於 項目 進度 的 報告 請在 週五 之前 提交 會議 記錄
謝謝 大家 的 支持 資料 遷移 伺服器 備份 客戶 合約 預算 測試 版本 發佈 問題 附件 明天 下午 開會 討論
方案 需要 確認 時間 安排 系統 升級 通知 部門 經理 同事 財務 發票 付款 ， 。`),
		charsets: []csw{{"big5", 60}, {"utf-8", 40}},
		marker:   "資料遷移已經完成",
		greeting: "各位好：",
		subjects: []string{"會議記錄 {n}", "年度報告與預算", "資料遷移完成通知", "發票 {n} 已付款"},
	},
	lJA: {
		code: "ja", sep: "", width: 36, cjk: true,
		words: strings.Fields(`お世話になっております 会議 の 議事録 を 添付 します 資料 を 確認 して ください
お願いします 来週 月曜日 に 打ち合わせ の 予定 です 報告書 データ 移行 サーバー バックアップ 担当者
よろしく ありがとうございます 本日 進捗 見積もり 請求書 承知しました 、 。`),
		charsets: []csw{{"iso-2022-jp", 70}, {"utf-8", 30}},
		marker:   "データ移行が完了しました",
		greeting: "皆様、お疲れ様です。",
		subjects: []string{"お疲れ様です。議事録 {n}", "会議のご案内", "見積もりのご確認", "データ移行完了のお知らせ",
			"請求書 {n} について"},
	},
	lKO: {
		code: "ko", sep: " ", width: 60, cjk: true,
		words: strings.Fields(`안녕하세요 회의 자료 첨부 확인 부탁드립니다 다음주 월요일 일정 보고서 데이터 이전
완료 서버 백업 담당자 감사합니다 오늘 진행 견적 청구서 프로젝트 검토 회의록 공유합니다 내일 오후
예산 계약 고객 문제 버전`),
		charsets: []csw{{"euc-kr", 55}, {"ks_c_5601-1987", 15}, {"utf-8", 30}},
		marker:   "데이터 이전이 완료되었습니다",
		greeting: "안녕하세요.",
		subjects: []string{"회의 일정 안내", "보고서 검토 부탁드립니다", "데이터 이전 완료 안내 {n}", "청구서 {n}"},
	},
}

// subjectCharsets: how a non-ASCII subject of a language is encoded in the
// header (charset label, weight); 'B' or 'Q' is chosen separately.
var subjectCharsets = [][]csw{
	lEN:     {{"utf-8", 1}},
	lDE:     {{"utf-8", 60}, {"iso-8859-1", 40}},
	lFR:     {{"iso-8859-1", 60}, {"utf-8", 40}},
	lRU:     {{"utf-8", 50}, {"koi8-r", 50}},
	lZhHans: {{"gbk", 45}, {"gb2312", 15}, {"utf-8", 40}},
	lZhHant: {{"big5", 60}, {"utf-8", 40}},
	lJA:     {{"iso-2022-jp", 75}, {"utf-8", 25}},
	lKO:     {{"euc-kr", 70}, {"utf-8", 30}},
}

var listSubjects = []string{"proposal: generic iterators", "context cancellation in net/http", "go1.{n} released",
	"how to profile allocations?", "sync.Pool semantics", "module proxy timeouts",
	"race detector false positive?", "embedding interfaces", "GC pause times on large heaps"}

var reviewSubjects = []string{"[go] net/http: fix race in Transport (CL {n})", "Build {n} failed on main",
	"Flaky test in TestSync{n}", "[go] runtime: reduce GC pause (CL {n})", "Review request: storage layer v{n}"}

var billingSubjects = []string{"Invoice #{n}", "Your receipt from Example Shop #{n}", "Rechnung {n} – Stadtwerke",
	"Facture n° {n}", "Payment confirmation {n}"}

var userAgents = []string{
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:102.0) Gecko/20100101 Thunderbird/102.13.0",
	"X-Mailer: Microsoft Outlook 16.0",
	"X-Mailer: Apple Mail (2.3445.104.11)",
	"User-Agent: Mutt/2.2.9 (2022-11-12)",
	"User-Agent: Roundcube Webmail/1.6.1",
	"X-Mailer: K-9 Mail for Android",
	"User-Agent: Evolution 3.46.4-2",
	"X-Mailer: Foxmail 7.2.23.116[cn]",
}

// Needle words: each appears only where its tag says, never by chance (the
// vocabularies above do not contain them).
const (
	needleBody    = "quokka"   // tag needle:quokka: in the text of the body (any part, after decoding)
	needleSubject = "axolotl"  // tag needle:axolotl: in the decoded Subject
	needleFile    = "pangolin" // tag needle:pangolin: in a decoded attachment file name
	needleCJK     = "袋鼠"       // tag needle:袋鼠: in a Chinese body (GBK, GB2312, Big5 or UTF-8)
)

type attName struct {
	name  string
	ctype string
	kind  string // pdf zip csv png jpg bin
}

var asciiAttNames = []attName{
	{"report-Q3.pdf", "application/pdf", "pdf"}, {"invoice.pdf", "application/pdf", "pdf"},
	{"logs.zip", "application/zip", "zip"}, {"backup-2019.zip", "application/zip", "zip"},
	{"export.csv", "text/csv", "csv"}, {"figures.csv", "text/csv", "csv"},
	{"screenshot.png", "image/png", "png"}, {"photo.jpg", "image/jpeg", "jpg"},
	{"firmware-v2.bin", "application/octet-stream", "bin"},
}

var intlAttNames = []attName{
	{"Bericht für März.pdf", "application/pdf", "pdf"},
	{"季度报告.pdf", "application/pdf", "pdf"},
	{"會議記錄與預算表格－二零二零年度最終版本（請勿外傳）.pdf", "application/pdf", "pdf"},
	{"Résumé – Élodie.zip", "application/zip", "zip"},
	{"données clients.csv", "text/csv", "csv"},
	{"写真 2019.jpg", "image/jpeg", "jpg"},
	{"Übersicht Größen.png", "image/png", "png"},
	{"見積書_最終版.pdf", "application/pdf", "pdf"},
	{"отчёт за квартал.csv", "text/csv", "csv"},
}
