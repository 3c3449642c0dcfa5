"""Vietnamese labels of the codes the office console shows (the PWA's are static/app/labels.js)."""

OUTCOMES = {
    "completed": "Hoàn thành",
    "partial": "Hoàn thành một phần",
    "not_home": "Không có nhà",
    "refused": "Từ chối",
}
RESULTS = {
    "done": "Đã hỗ trợ xong",
    "already_had": "Đã có từ trước",
    "in_progress": "Đang xử lý",
    "declined": "Không muốn",
    "not_eligible": "Không đủ điều kiện",
    "failed": "Chưa thành công",
}
REVIEW_STATES = {
    "received": "Mới nhận",
    "has_issues": "Cần bổ sung",
    "approved": "Đã duyệt",
    "rejected": "Không chấp nhận",
}
FLAGS = {
    "gps_outside": "Vị trí GPS ngoài địa bàn ấp",
    "speed": "Di chuyển nhanh bất thường",
    "duplicate": "Nghi trùng hộ",
}
ROLES = {
    "member": "Thành viên Tổ CNSCĐ",
    "team_lead": "Tổ trưởng Tổ CNSCĐ",
    "commune_officer": "Cán bộ Phòng Văn hóa – Xã hội",
    "province_analyst": "Chuyên viên cấp tỉnh",
    "admin": "Quản trị hệ thống",
}
SEXES = {"M": "Nam", "F": "Nữ", "X": "Khác"}
HAMLET_KINDS = {"ap": "Ấp", "thon": "Thôn", "khu_pho": "Khu phố", "to_dan_pho": "Tổ dân phố"}
AUDIT_ACTIONS = {
    "visit.review.has_issues": "Yêu cầu bổ sung",
    "visit.review.approved": "Duyệt",
    "visit.review.rejected": "Không chấp nhận",
    "visit.move": "Chuyển sang hộ khác (gộp hộ trùng)",
    "photo.upload": "Tải ảnh lên",
}
# What an HTTP status means to an officer; the page says what to do next.
ERRORS = {
    400: ("Yêu cầu không hợp lệ",
          "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang rồi thử lại."),
    401: ("Chưa đăng nhập", "Vui lòng đăng nhập để tiếp tục."),
    403: ("Không có quyền truy cập",
          "Tài khoản của bạn không được dùng trang này."),
    404: ("Không tìm thấy", "Không có bản ghi này trong địa bàn bạn phụ trách."),
    405: ("Thao tác không hợp lệ", "Thao tác này không được hỗ trợ."),
    409: ("Dữ liệu vừa thay đổi",
          "Bản ghi vừa được người khác cập nhật. Vui lòng tải lại trang và xem lại trước khi "
          "thao tác."),
    413: ("Dữ liệu quá lớn", "Nội dung gửi lên quá lớn."),
    422: ("Dữ liệu chưa hợp lệ", "Vui lòng kiểm tra lại các ô đã nhập."),
    429: ("Thử quá nhiều lần",
          "Bạn đã đăng nhập sai quá nhiều lần. Vui lòng đợi một phút rồi thử lại."),
    500: ("Lỗi hệ thống", "Máy chủ gặp lỗi. Vui lòng thử lại sau hoặc báo quản trị hệ thống."),
    503: ("Hệ thống tạm thời gián đoạn", "Vui lòng thử lại sau ít phút."),
}
